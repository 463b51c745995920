"""The ELMo-style biLM (arch bilstm): each direction sees only its own side, the softmax is shared, separate or tied
as asked, and a run reports both directions' perplexities."""

from __future__ import annotations

import json

import pytest
import torch

from embedeval.errors import EmbedevalError
from embedeval.train.bilm_model import BiLSTMLM
from embedeval.train.lm_config import make_config
from tests.conftest import run_cli


def bilm(variant="untied", softmax=None):
    return BiLSTMLM(
        30, make_config("bilm-tiny", variant, arch_options={"softmax": softmax} if softmax else None)
    ).eval()


def test_each_direction_sees_only_its_own_side_of_the_text():
    torch.manual_seed(0)
    model = bilm()
    tokens = torch.randint(0, 30, (8, 2))
    changed = tokens.clone()
    changed[5] = (changed[5] + 1) % 30  # change the token at position 5
    u = model.input_embedding()
    fwd_a, _ = model._forward_direction(tokens, model.init_hidden(2), u)
    fwd_b, _ = model._forward_direction(changed, model.init_hidden(2), u)
    bwd_a, bwd_b = model._backward_direction(tokens, u), model._backward_direction(changed, u)
    assert torch.equal(fwd_a[:5], fwd_b[:5]) and not torch.equal(fwd_a[5], fwd_b[5])  # left to right
    assert torch.equal(bwd_a[6:], bwd_b[6:]) and not torch.equal(bwd_a[5], bwd_b[5])  # right to left


def test_the_softmax_is_shared_separate_or_tied_as_asked():
    separate, shared, tied = bilm(softmax="separate"), bilm(), bilm("wt")
    assert separate.decoder_bwd is not separate.decoder
    assert shared.decoder_bwd is shared.decoder and shared.output_embedding() is not shared.input_embedding()
    assert tied.output_embedding() is tied.input_embedding()  # V = U = S
    counts = [m.parameter_counts()["unique_parameters"] for m in (separate, shared, tied)]
    v_size = 30 * 32
    assert counts[0] - counts[1] == v_size + 30 and counts[1] - counts[2] == v_size  # a softmax (+ its bias) each


def test_tying_the_softmax_to_the_input_needs_one_softmax():
    with pytest.raises(EmbedevalError, match="--bilm-softmax shared"):
        make_config("bilm-tiny", "wt", arch_options={"softmax": "separate"})
    with pytest.raises(EmbedevalError, match="not for --arch bilstm"):
        make_config("bilm-tiny", "wt+pr")


def test_the_backward_loss_is_the_forward_loss_of_the_reversed_text_when_the_directions_swap():
    """Swapping the two stacks and reversing the text turns one direction's cross-entropy into the other's."""
    torch.manual_seed(1)
    model = bilm(softmax="shared")
    text = torch.randint(0, 30, (9, 1))
    x, y = text[:-1], text[1:]
    _, backward, _ = model.bidirectional_nll(x, y, model.init_hidden(1))
    model.forward_rnn, model.backward_rnn = model.backward_rnn, model.forward_rnn
    reversed_text = text.flip(0)
    forward, _, _ = model.bidirectional_nll(reversed_text[:-1], reversed_text[1:], model.init_hidden(1))
    torch.testing.assert_close(forward, backward)


def test_a_trained_bilm_reports_both_directions(tmp_path, toy_corpus):
    out = tmp_path / "bilm"
    code, _, err = run_cli("train", "lm", "--arch", "bilstm", "--config", "bilm-tiny", "--corpus",
                           str(toy_corpus.path().parent), "--out", str(out), "--threads", "1")  # fmt: skip
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    directions = summary["direction_ppl"]
    assert set(directions) == {"valid", "test"} and all(set(d) == {"forward", "backward"} for d in directions.values())
    assert directions["valid"]["forward"] == pytest.approx(summary["valid_ppl"], rel=1e-4)  # the trainer's number
    assert 1 < directions["test"]["backward"] < 40  # a 40-word corpus: better than chance
    assert f"test forward {directions['test']['forward']:.2f}, backward {directions['test']['backward']:.2f}" in err
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["arch"] == "bilstm" and config["arch_options"] == {"softmax": "shared"}
    roles = {p.stem for p in (out / "embeddings").glob("*.npz")}
    assert roles == {"input", "output"}  # one softmax: no backward one to export
    import embedeval as ee

    loaded = ee.load_model(out)  # the biLM comes back from its folder like any LM
    assert isinstance(loaded.model, BiLSTMLM) and loaded.model.decoder_bwd is loaded.model.decoder


def test_a_bilm_with_a_softmax_per_direction_exports_both(tmp_path):
    import numpy as np

    import embedeval as ee
    from embedeval.data.corpus import resolve_corpus
    from embedeval.data.registry import load_benchmarks

    (rg65,) = load_benchmarks(["rg65"])
    words = sorted(set(rg65.words1) | set(rg65.words2))  # a corpus of RG-65's words, so the report has pairs
    rng = np.random.default_rng(0)
    (tmp_path / "text").mkdir()
    for split, lines in (("train", 300), ("valid", 40), ("test", 40)):
        text = "\n".join(" ".join(rng.choice(words, size=8)) for _ in range(lines))
        (tmp_path / "text" / f"{split}.txt").write_text(text + "\n")
    corpus = resolve_corpus(tmp_path / "text")
    cfg = make_config("bilm-tiny", "untied", threads=1, arch_options={"softmax": "separate"})
    ee.train(cfg, ee.load_lm_data(corpus), tmp_path / "bilm", corpus=corpus)
    by_role = {e.role: e for e in ee.load(tmp_path / "bilm")}
    assert set(by_role) == {"input", "output", "output-backward"}
    model = ee.load_model(tmp_path / "bilm").model
    np.testing.assert_array_equal(by_role["output-backward"].vectors, model.decoder_bwd.weight.detach().numpy())
    np.testing.assert_array_equal(by_role["output-backward"].bias, model.decoder_bwd.bias.detach().numpy())
    assert not np.array_equal(by_role["output"].vectors, by_role["output-backward"].vectors)
    report = ee.compare([tmp_path / "bilm"], ["rg65"], out=tmp_path / "report", n_bootstrap=0)
    (table,) = report.model_tables()
    assert [row["role"] for row in table["rows"]] == ["input", "output", "output-backward", "sum"]
    (claim,) = [f for f in report.findings if f["claim"] == "backward_vs_forward_output"]
    assert claim["benchmarks"] == 1 and -1 <= claim["corr"] <= 1  # the backward softmax against V, on RG-65
    assert "the backward direction's own softmax is significantly better than the forward V on" in " ".join(
        report.summary
    )


def test_the_report_shows_a_bilm_by_both_directions(tmp_path, toy_corpus):
    import embedeval as ee

    corpus = toy_corpus
    ee.train(make_config("bilm-tiny", "untied", threads=1), ee.load_lm_data(corpus), tmp_path / "bilm", corpus=corpus)
    report = ee.compare([tmp_path / "bilm"], ["rg65"], out=tmp_path / "report", n_bootstrap=0)
    (row,) = report.lm_rows()
    assert row["variant"] == "untied, softmax shared" and row["backward"]["test"] > 1
    html = (tmp_path / "report" / "index.html").read_text()
    assert "backward" in html and "A bidirectional LM (biLM)" in html


def test_a_bilm_pair_is_tracked_in_lockstep(tmp_path, toy_corpus):
    import embedeval as ee

    data = ee.load_lm_data(toy_corpus)
    untied, tied = (make_config("bilm-tiny", v, threads=1) for v in ("untied", "wt"))
    summary = ee.track(untied, tied, data, tmp_path / "pair", ee.TrackConfig(every=10, geometry=False))
    records = ee.read_dynamics(tmp_path / "pair")
    assert summary["steps"] > 10 and len(records) >= 2
    assert "S~V" in records[-1]["corr"] and records[-1]["grad"]["S"]["frac_rows_in"] > 0
