"""Comparing embeddings and writing the report: ``collect`` the inputs, ``build_report``, ``write_report``.

The names are imported on first use, so that ``embedeval --help`` does not pay for scipy and matplotlib.
"""

import importlib

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


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'embedeval.report' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
