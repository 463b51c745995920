"""Writing a report folder: index.html (one self-contained file), results.json and results.csv."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from embedeval.evaluate.output import write_csv, write_pairs_csv, write_rows, write_tests_csv
from embedeval.files import OutputDir, atomic_write_text
from embedeval.layout import REPORT_CSV, REPORT_HTML, REPORT_INCOMPLETE, RESULTS
from embedeval.report.build import Report
from embedeval.report.summary import glossary
from embedeval.tasks import get_task
from embedeval.version import __version__


def _fmt_p(p: float | None) -> str:
    if p is None:
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def render_html(report: Report) -> str:
    # autoescape: run names, words and paths come from users; "<script>" must print as text
    env = Environment(
        loader=PackageLoader("embedeval.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    ev = report.evaluation
    best = {}
    for bench in report.benchmark_names:
        scored = [r for r in ev.results if r.benchmark == bench and r.spearman is not None]
        best[bench] = max(scored, key=lambda r: r.spearman).embedding if scored else None
    methods = {r.ci_method for r in ev.results}
    ci_method = "percentile bootstrap over pairs" if methods == {"bootstrap"} else "bootstrap or Fisher z"
    return env.get_template("report.html.j2").render(
        report=report,
        ev=ev,
        settings=ev.settings,
        alpha=report.settings.get("alpha", 0.05),
        version=__version__,
        best=best,
        ci_method=ci_method,
        model_tables=report.model_tables(),
        lm_rows=report.lm_rows(),
        nmt_rows=report.translation()[0],
        nmt_notes=report.translation()[1],
        dynamics_rows=report.dynamics_rows(),
        figures=report.figures,
        task_sections=report.task_sections(),
        fmt_p=_fmt_p,
        glossary=glossary(report.summary),
    )


def prepare_report_dir(
    out: str | Path, overwrite: bool, inputs: tuple[str | Path, ...] = (), exist_ok: bool = False
) -> OutputDir:
    """Claim the report folder (see :class:`embedeval.files.OutputDir`): refused early, before minutes of training,
    when it is not empty and ``overwrite`` is off, when it is not a report folder embedeval wrote, or when it lies
    inside an input or holds one."""
    return OutputDir(out, "report", overwrite, exist_ok=exist_ok, inputs=inputs)


def write_report(report: Report, out: str | Path | OutputDir, overwrite: bool = False) -> dict[str, Path]:
    """Write index.html, results.json, results.csv, pairs.csv, tests.csv and each task's file (analogies.csv,
    geometry.csv ...), each atomically, then publish the folder. Replacing an old report, they are written beside it and
    swapped in only when all are written, so a full disk or a kill leaves the old report whole; written in place
    (a folder already published), INCOMPLETE.txt stands in the folder until the last file is written."""
    claim = out if isinstance(out, OutputDir) else prepare_report_dir(out, overwrite)
    with claim:
        folder = claim.path
        pending = folder / REPORT_INCOMPLETE if claim.published else None
        if pending is not None:
            atomic_write_text(pending, "embedeval was writing this report when it stopped (a full disk, a kill): "
                              "some files may be missing or from the report before. Run the command again.\n")  # fmt: skip
        names = {"html": REPORT_HTML, "json": RESULTS, **{key: REPORT_CSV[key] for key in ("csv", "pairs", "tests")}}
        atomic_write_text(folder / names["html"], render_html(report))
        atomic_write_text(folder / names["json"], json.dumps(report.to_dict(), indent=1, default=str) + "\n")
        write_csv(report.evaluation, folder / names["csv"])
        write_pairs_csv(report.evaluation, folder / names["pairs"])
        write_tests_csv(report.evaluation, folder / names["tests"])
        for name, rows in report.tasks.items():  # each task's own CSV file (geometry.csv ...)
            task = get_task(name)
            if task.csv_name and rows:
                flat = task.call("csv_rows", rows) if task.csv_rows else rows
                names[name] = write_rows(flat, folder / task.csv_name).name
        if pending is not None:
            pending.unlink()
        final = claim.publish()
    return {key: final / name for key, name in names.items()}
