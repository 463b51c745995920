"""Comparing embeddings and writing the report: ``collect`` the inputs, ``build_report``, ``write_report``."""

from embedeval.report.build import CompareSettings, Report, build_report, choose_benchmarks
from embedeval.report.html import render_html, write_report
from embedeval.report.sources import Sources, collect

__all__ = [
    "CompareSettings",
    "Report",
    "Sources",
    "build_report",
    "choose_benchmarks",
    "collect",
    "render_html",
    "write_report",
]
