"""The tying-claims page: its tests on hand-made runs, the convergence measure by hand, and the committed page
regenerates from the committed runs word for word."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from embedeval.seed_claims import (
    FIRST_LINE,
    claims_markdown,
    data_size,
    first_reach,
    sgns_data_size,
    transfer,
    tying_claims,
)
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


def test_transfer_family_on_hand_made_runs(tmp_path):
    """Pretraining takes 20% off the tied model's perplexity and 5% off the untied one's: both gains and the claim
    (WT's gain larger) are shown; the pretraining run's own test perplexity is listed beside them."""
    for seed, wiggle in zip((1, 2, 3), (0.0, 0.004, -0.003)):
        for variant, gain in (("untied", 0.05), ("wt", 0.20)):
            _run(tmp_path / f"ptb-pw-small-{variant}-f10-s{seed}", 330, 300)
            _run(tmp_path / f"ptb-pw-small-{variant}-f10-from-wt2-s{seed}", 300, 300 / math.exp(gain + wiggle))
        _run(tmp_path / f"wt2ptb-pw-small-wt-s{seed}", 180, 170)
    found = transfer(tmp_path, (1, 2, 3))
    untied, wt, claim = found["tests"]
    assert untied["mean"] == pytest.approx(0.05 + 0.001 / 3) and "positive, shown" in untied["verdict"]
    assert claim["mean"] == pytest.approx(0.15) and "positive, shown" in claim["verdict"]
    assert {r["pretrain_test"] for r in found["runs"] if r["variant"] == "wt"} == {170}
    assert {r["pretrain_test"] for r in found["runs"] if r["variant"] == "untied"} == {None}
    assert transfer(tmp_path / "nothing", (1, 2, 3))["tests"][2]["verdict"] == "no seed finished"


def test_the_committed_page_regenerates_from_the_committed_runs():
    folder = ROOT / "reports" / "seed-claims"
    result = tying_claims(folder / "runs", ROOT)
    page = (folder / "README.md").read_text(encoding="utf-8")
    assert page.startswith(FIRST_LINE)
    assert claims_markdown(result) == page
    assert json.loads((folder / "tying-claims.json").read_text()) == json.loads(json.dumps(result))


def test_sgns_families_on_hand_made_scores():
    """Tying adds 0.05 rho at 10% of the text and nothing at 100%: family E shows the first and not the last,
    family F the larger benefit when text is scarce; a fraction without both seeds' runs says so."""

    def pair(u: float, s: float) -> dict:
        return {b: {"pairs": 100, "total": 120, "U": u, "V": u - 0.1, "S": s} for b in ("simlex999", "ws353", "men")}

    scores = {}
    for seed, wiggle in zip((1, 2, 3), (0.0, 0.004, -0.003)):
        scores[f"10/{seed}"] = pair(0.20, 0.25 + wiggle)
        scores[f"100/{seed}"] = pair(0.40, 0.40 + wiggle)
    found = sgns_data_size(scores, (1, 2, 3))
    e = {t["fraction"]: t for t in found["benefit"]}
    assert e[10]["mean"] == pytest.approx(0.05 + 0.001 / 3) and "positive, shown" in e[10]["verdict"]
    assert "not shown" in e[100]["verdict"] and e[25]["verdict"] == "no seed finished"
    f = {t["fraction"]: t for t in found["benefit_vs_full"]}
    assert f[10]["mean"] == pytest.approx(0.05) and "positive, shown" in f[10]["verdict"]
    assert found["runs"][0]["rho_V"] == pytest.approx(0.10)
    page = claims_markdown({**tying_claims(ROOT / "reports" / "seed-claims" / "runs", ROOT), "sgns_data_size": found})
    assert "#### The same for skip-gram (SGNS)" in page and "| 10% | 1 | 0.200 | 0.100 | 0.250 | 100/120" in page


def test_a_skipgram_fraction_trains_on_a_prefix_with_its_own_vocabulary(tmp_path):
    from embedeval.data.corpus import resolve_corpus
    from embedeval.train.skipgram import sentences, training_tokens

    corpus = resolve_corpus("builtin")
    whole = training_tokens(corpus)
    prefix = list(sentences(corpus, fraction=0.25))
    assert sum(map(len, prefix)) == round(0.25 * whole)
    assert prefix == [line for line in sentences(corpus)][: len(prefix) - 1] + [prefix[-1]]


def test_the_transfer_tables_validation_path_names_the_best_epoch_and_the_last():
    from embedeval.seed_claims import _best_and_last, _valid_path

    history = [{"epoch": 1, "valid_ppl": 232.4}, {"epoch": 2, "valid_ppl": 229.5}, {"epoch": 3, "valid_ppl": 245.8}]
    path = _best_and_last(history)
    assert path == {"best": 229.5, "best_epoch": 2, "last": 245.8}
    assert _valid_path(path) == "229.5 (epoch 2) → 245.8"
    assert _best_and_last([]) is None and _valid_path(None) == "—"
