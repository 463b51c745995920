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
    folders), score them on identical pairs, and return the :class:`embedeval.report.Report`; with ``out``, also
    write the report folder. ``settings`` are :class:`embedeval.report.CompareSettings` fields (``n_bootstrap``,
    ``alpha``, ``oov`` ...); ``benchmarks`` may name analogy sets too."""
    from embedeval.data.registry import choose_benchmarks, is_analogy, load_analogy_set, load_benchmarks
    from embedeval.report import CompareSettings, build_report, collect, write_report

    names, notes = choose_benchmarks(benchmarks, settings.pop("data_dir", None))
    analogy_sets = [load_analogy_set(n) for n in names if is_analogy(n)]
    names = [n for n in names if not is_analogy(n)]
    cfg = CompareSettings(benchmarks=names, **settings)
    report = build_report(collect(paths, add_sum=cfg.add_sum), load_benchmarks(names), cfg, "embedeval.compare",
                          notes, analogy_sets)  # fmt: skip
    if out is not None:
        write_report(report, out, overwrite=overwrite)
    return report


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
