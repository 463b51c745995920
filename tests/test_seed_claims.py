"""The tying-claims page: its tests on hand-made runs, the convergence measure by hand, and the committed page
regenerates from the committed runs word for word."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from embedeval.seed_claims import FIRST_LINE, claims_markdown, data_size, first_reach, tying_claims
from tests.conftest import ROOT


def test_first_reach_interpolates_between_epochs_and_censors():
    history = [{"epoch": 1, "v": 200.0}, {"epoch": 2, "v": 150.0}, {"epoch": 3, "v": 110.0}]
    assert first_reach(history, 130.0, "v", lower_better=True) == (pytest.approx(2.5), False)
    assert first_reach(history, 250.0, "v", lower_better=True) == (1.0, False)
    assert first_reach(history, 100.0, "v", lower_better=True) == (3.0, True)
    bleu = [{"epoch": 1, "b": 10.0}, {"epoch": 2, "b": 30.0}]
    assert first_reach(bleu, 20.0, "b", lower_better=False) == (pytest.approx(1.5), False)


def _run(folder: Path, valid: float, test: float, train_final: float | None = None) -> None:
    folder.mkdir(parents=True)
    summary = {"status": "complete", "valid_ppl": valid, "test_ppl": test}
    if train_final is not None:  # the committed full-data runs predate it
        summary["train_ppl_final"] = train_final
    (folder / "summary.json").write_text(json.dumps(summary))


def test_data_size_families_on_hand_made_runs(tmp_path):
    """Tying gains 10% at 10% of the data and 2% at 100%: family A shows both, family B the larger gain when data is
    scarce (log perplexity, paired over three seeds)."""
    runs, repo = tmp_path / "runs", tmp_path / "repo"
    for seed, wiggle in zip((1, 2, 3), (0.0, 0.3, -0.2)):
        _run(runs / f"ptb-pw-small-untied-f10-s{seed}", 330 + wiggle, 300 + wiggle, 60)
        _run(runs / f"ptb-pw-small-wt-f10-s{seed}", 300 + wiggle, (300 + wiggle) / math.exp(0.10 + wiggle / 100), 80)
        _run(repo / "reports/press-wolf/seeds" / f"ptb-pw-small-untied-s{seed}", 120, 115 + wiggle)
        _run(repo / "reports/press-wolf/seeds" / f"ptb-pw-small-wt-s{seed}", 117, (115 + wiggle) / math.exp(0.02))
    found = data_size(runs, repo, (1, 2, 3))
    a = {t["fraction"]: t for t in found["benefit"]}
    assert a[10]["mean"] == pytest.approx(0.10 + 0.1 / 300, abs=1e-3) and "shown" in a[10]["verdict"]
    assert a[100]["mean"] == pytest.approx(0.02) and a[25]["verdict"] == "no seed finished"
    b = {t["fraction"]: t for t in found["benefit_vs_full"]}
    assert b[10]["mean"] == pytest.approx(0.08, abs=1e-3) and "positive, shown" in b[10]["verdict"]
    (c,) = found["gap"]  # only the fraction whose runs have the final-model training perplexity
    assert c["fraction"] == 10 and c["mean"] > 0  # WT's gap ln(300/80) is narrower than untied's ln(330/60)


def test_the_committed_page_regenerates_from_the_committed_runs():
    folder = ROOT / "reports" / "seed-claims"
    result = tying_claims(folder / "runs", ROOT)
    page = (folder / "README.md").read_text(encoding="utf-8")
    assert page.startswith(FIRST_LINE)
    assert claims_markdown(result) == page
    assert json.loads((folder / "tying-claims.json").read_text()) == json.loads(json.dumps(result))
