"""Comparing embeddings and writing the report: ``collect`` the inputs, ``build_report``, ``write_report``.

The names are imported on first use, so that ``embedeval --help`` does not pay for scipy and matplotlib.
"""

from embedeval.lazy import lazy_exports

_EXPORTS = {
    "CompareSettings": "embedeval.report.build",
    "Report": "embedeval.report.build",
    "build_report": "embedeval.report.build",
    "choose_benchmarks": "embedeval.data.registry",
    "render_html": "embedeval.report.html",
    "write_report": "embedeval.report.html",
    "Sources": "embedeval.report.sources",
    "collect": "embedeval.report.sources",
}


__getattr__ = lazy_exports("embedeval.report", _EXPORTS)
__all__ = sorted(_EXPORTS)
