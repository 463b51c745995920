"""Writing a report folder: index.html (one self-contained file), results.json and results.csv."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

import embedeval
from embedeval.errors import EmbedevalError
from embedeval.evaluate.output import write_csv
from embedeval.report.build import Report


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
        version=embedeval.__version__,
        best=best,
        ci_method=ci_method,
        model_tables=report.model_tables(),
        lm_rows=report.lm_rows(),
        dynamics_rows=report.dynamics_rows(),
        figures=report.figures,
        fmt_p=_fmt_p,
    )


def prepare_report_dir(out: str | Path, overwrite: bool) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EmbedevalError("--out exists and is not a folder", out)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise EmbedevalError("the report folder exists and is not empty; pass --overwrite to replace it", out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise EmbedevalError(f"cannot create the report folder ({err.strerror})", out) from None
    return out


def write_report(report: Report, out: str | Path, overwrite: bool = False) -> dict[str, Path]:
    """Write the three files; each goes to a temporary name first, so a failure leaves no half file."""
    out = prepare_report_dir(out, overwrite)
    targets = {"html": out / "index.html", "json": out / "results.json", "csv": out / "results.csv"}
    writers = {
        "html": lambda tmp: tmp.write_text(render_html(report), encoding="utf-8"),
        "json": lambda tmp: tmp.write_text(json.dumps(report.to_dict(), indent=1, default=str) + "\n"),
        "csv": lambda tmp: write_csv(report.evaluation, tmp),
    }
    try:
        for key, target in targets.items():
            tmp = target.with_name(target.name + ".tmp")
            writers[key](tmp)
            tmp.replace(target)
    except OSError as err:
        raise EmbedevalError(f"cannot write the report ({err.strerror})", out) from None
    return targets
