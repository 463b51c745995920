"""One-call helpers of the public API (``import embedeval as ee``) that no single module holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def compare(
    paths: list[str | Path],
    benchmarks: list[str] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    **settings: Any,
) -> Any:
    """What ``embedeval compare`` does, from Python: read every input (runs, tracks, files, pretrained model
    folders, GGUF files, cached hub ids), score them on identical pairs through the one pipeline, and return the
    :class:`embedeval.report.Report`; with ``out``, also write the report folder. ``settings`` are
    :class:`embedeval.report.CompareSettings` fields (``n_bootstrap``, ``alpha``, ``oov``, ``pieces``, ``data_dir``,
    ``tasks`` ...); ``benchmarks`` may name analogy sets too."""
    from embedeval.pipeline import read_inputs, score
    from embedeval.report import CompareSettings, write_report
    from embedeval.report.build import report_from

    fmt = settings.pop("fmt", None)
    if isinstance(paths, (str, Path)):
        paths = [paths]  # one path, not its letters
    if isinstance(benchmarks, (str, Path)):
        benchmarks = [str(benchmarks)]
    if isinstance(settings.get("tasks"), str):
        settings["tasks"] = (settings["tasks"],)
    cfg = CompareSettings(benchmarks=list(benchmarks) if benchmarks else None, **settings)
    pipeline = cfg.pipeline()
    pipeline.fmt = fmt
    inputs = read_inputs(list(paths), pipeline, need_similarity=True)
    cfg.benchmarks = [b.name for b in inputs.benchmarks]
    report = report_from(score(inputs, pipeline), cfg, "embedeval.compare")
    if out is not None:
        write_report(report, out, overwrite=overwrite)
    return report


def score(inputs: list[Any], benchmarks: list[str] | None = None, **settings: Any) -> Any:
    """What ``embedeval eval`` does, from Python: read ``inputs`` (paths, model ids, or :class:`Embedding` objects),
    score them on ``benchmarks`` (None: the default set that can be found) and run the ``tasks`` asked for; returns
    :class:`embedeval.pipeline.Results` (``to_dict()`` is ``eval --json``). ``settings`` are
    :class:`embedeval.pipeline.Settings` fields."""
    from embedeval.pipeline import Settings
    from embedeval.pipeline import score as run

    if isinstance(inputs, (str, Path)):
        inputs = [inputs]  # one path, not its letters
    if isinstance(benchmarks, (str, Path)):
        benchmarks = [str(benchmarks)]
    cfg = Settings(benchmarks=list(benchmarks) if benchmarks else None, **settings)
    from embedeval.pipeline import read_inputs

    return run(read_inputs(list(inputs), cfg), cfg)


def lm_config(name: str, variant: str = "untied", **overrides: Any) -> Any:
    """A language-model config by name (``pw-small``, ``demo``, ``tf-small`` ...) for a variant, fields overridden."""
    from embedeval.train.lm_config import config_for, make_config

    return make_config(config_for(name, overrides.get("arch")), variant, **overrides)


def nmt_config(name: str = "nmt-small", tie: str = "none", **overrides: Any) -> Any:
    """A translation config by name (``nmt-tiny``, ``nmt-small``, ``nmt-base``) for a tying mode."""
    from embedeval.train.nmt_config import make_config

    return make_config(name, tie, **overrides)


def train_translation(
    text: Any, cfg: Any, out: str | Path, src: str, tgt: str, overwrite: bool = False
) -> dict[str, Any]:
    """What ``embedeval train nmt`` does with parallel text already read (:func:`embedeval.data.parallel.
    load_parallel`): learn the subword model, encode, write the run folder (config.json included) and train."""
    from embedeval.rundir import RunDir
    from embedeval.train import nmt

    src_sp, tgt_sp = nmt.build_subwords(text, cfg)
    data = nmt.encode_data(text, src_sp, tgt_sp, src, tgt)
    with RunDir.create(out, overwrite) as run:  # the trainer writes the subword models and config.json
        return nmt.train_nmt(cfg, data, run)
