"""The main job (README command 1: ``embedeval compare`` with no inputs) end to end, and its page in a browser.

A file of its own so that pytest-xdist runs it beside the other report tests: it is the suite's longest setup."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.chromium import check_page, find_chromium
from tests.conftest import ROOT, run_cli

ARTIFACTS = ROOT / ".artifacts"


@pytest.fixture(scope="module")
def default_report(tmp_path_factory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("default") / "report"
    started = time.perf_counter()
    code, stdout, err = run_cli("compare", "--out", str(out))
    assert code == 0, err[-3000:]
    return out, time.perf_counter() - started


@pytest.mark.slow
def test_the_builtin_default_is_the_main_job(default_report):
    out, _ = default_report  # its time is measured in benchmarks/bench_main_job.py, not asserted on a loaded machine
    results = json.loads((out / "results.json").read_text())
    assert len({r["embedding"] for r in results["results"]}) == 8  # SGNS and LSTM: U, V, U+V, S
    assert [r["variant"] for r in results["perplexity"]] == ["untied", "wt"]
    assert len(results["dynamics"]) == 2
    assert (out / "runs" / "lstm-lee" / "dynamics.jsonl").is_file()


@pytest.mark.slow
@pytest.mark.skipif(find_chromium() is None and not os.environ.get("CI"), reason="chromium is not installed")
def test_the_report_renders_in_chromium(default_report):
    out, _ = default_report
    shot = ARTIFACTS / "report-screenshot.png"
    page = check_page(out / "index.html", shot)
    assert page.console_errors == []
    assert page.broken_images == []
    assert page.images >= 6  # scores, perplexity, and the dynamics figures of both pairs
    assert "Summary" in page.text and "Provenance" in page.text
    assert page.too_wide == {1400: [], 1000: []}  # nothing cut off at either width
    assert shot.stat().st_size > 50_000


@pytest.mark.slow
def test_resume_keeps_the_finished_pairs_and_rewrites_the_report(default_report, tmp_path):
    import shutil

    out, _ = default_report
    copy = tmp_path / "report"
    shutil.copytree(out, copy)
    dynamics = (copy / "runs" / "lstm-lee" / "dynamics.jsonl").read_bytes()
    (copy / "index.html").unlink()  # as if interrupted before the report was written
    code, _, err = run_cli("compare", "--out", str(copy), "--resume")
    assert code == 0, err[-2000:]
    assert "training and tracking" not in err  # both pairs had finished: nothing trained again
    assert (copy / "index.html").is_file()
    assert (copy / "runs" / "lstm-lee" / "dynamics.jsonl").read_bytes() == dynamics
    before, after = (json.loads((d / "results.json").read_text()) for d in (out, copy))
    assert [r["spearman"] for r in after["results"]] == [r["spearman"] for r in before["results"]]


def test_resume_is_refused_with_inputs_or_without_a_default_report(tmp_path):
    code, _, err = run_cli("compare", "x.txt", "--out", str(tmp_path / "r"), "--resume")
    assert code == 2 and "--resume continues the built-in default" in err
    code, _, err = run_cli("compare", "--out", str(tmp_path / "r"), "--resume")
    assert code == 2 and "nothing to resume" in err
