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
