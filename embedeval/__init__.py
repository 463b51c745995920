"""embedeval: input and output word embeddings, weight tying, and how the tied matrix evolves.

The public API, flat: ``import embedeval as ee`` and then ``ee.load``, ``ee.evaluate``, ``ee.compare`` ...
(docs/api.md). The names are imported on first use, so that ``embedeval --help`` stays light.
"""

from embedeval.lazy import lazy_exports
from embedeval.version import __version__

_EXPORTS = {
    # embeddings
    "Embedding": "embedeval.embeddings",
    "load": "embedeval.embeddings",
    "load_one": "embedeval.embeddings",
    "write": "embedeval.embeddings",
    "example_embeddings": "embedeval.examples",
    "load_pretrained": "embedeval.embeddings.pretrained",
    "read_pretrained": "embedeval.embeddings.pretrained",
    # benchmarks and scores
    "load_benchmarks": "embedeval.data.registry",
    "load_analogy_set": "embedeval.data.registry",
    "evaluate": "embedeval.evaluate",
    "evaluate_analogies": "embedeval.evaluate.analogy",
    "geometry": "embedeval.evaluate.geometry",
    "paired_seed_test": "embedeval.evaluate.stats",
    # reports
    "compare": "embedeval.api",
    "score": "embedeval.api",
    "Settings": "embedeval.pipeline",
    "Results": "embedeval.pipeline",
    "identify": "embedeval.embeddings.readers",
    "register_reader": "embedeval.embeddings.readers",
    "Reader": "embedeval.embeddings.readers",
    "register_task": "embedeval.tasks",
    "Task": "embedeval.tasks",
    "register_arch": "embedeval.trainers",
    "read_gguf": "embedeval.embeddings.gguf_model",
    "write_gguf": "embedeval.embeddings.gguf_export",
    "default_threads": "embedeval.threads",
    "gguf_from_source": "embedeval.embeddings.gguf_export",
    "CompareSettings": "embedeval.report.build",
    "collect": "embedeval.report.sources",
    "build_report": "embedeval.report.build",
    "write_report": "embedeval.report.html",
    # corpora and configs
    "resolve_corpus": "embedeval.data.corpus",
    "load_lm_data": "embedeval.train.lm",
    "load_parallel": "embedeval.data.parallel",
    "multi30k": "embedeval.data.parallel",
    "from_files": "embedeval.data.parallel",
    "lm_config": "embedeval.api",
    "nmt_config": "embedeval.api",
    # training and tracking
    "RunDir": "embedeval.rundir",
    "train_translation": "embedeval.api",
    "TrackConfig": "embedeval.dynamics.tracker",
    "read_dynamics": "embedeval.dynamics.records",
    "dynamics_figures": "embedeval.dynamics.plots",
    "digest": "embedeval.dynamics.digest",
    "train_lm": "embedeval.train.lm",
    "train_nmt": "embedeval.train.nmt",
    "train_skipgram": "embedeval.train.skipgram",
    "train_gpt2": "embedeval.train.hf_gpt2",
    "GPT2Config": "embedeval.train.hf_gpt2",
    "track": "embedeval.dynamics.tracker",
    "scan_series": "embedeval.dynamics.series",
    "SeriesConfig": "embedeval.dynamics.series",
    "load_model": "embedeval.train.load",
    "train": "embedeval.train",  # the package is callable: ee.train(cfg, data, out) starts a run of any family
    "TrainedModel": "embedeval.train.load",
}

__getattr__ = lazy_exports("embedeval", _EXPORTS)
__all__ = ["__version__", *sorted(_EXPORTS)]
