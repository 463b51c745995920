"""The decoder-only Transformer LM: causal, tied right, trained and resumed like the LSTM, refused when misused."""

from __future__ import annotations

import pytest
import torch

from embedeval.data.corpus import resolve_corpus
from embedeval.dynamics import TrackConfig, read_dynamics, track
from embedeval.embeddings import load
from embedeval.errors import EmbedevalError
from embedeval.layout import CHECKPOINT
from embedeval.rundir import RunDir
from embedeval.train.lm import (
    LMTrainer,
    _refuse_impossible_perplexity,
    cosine_learning_rate,
    evaluate_perplexity,
    load_checkpoint,
    load_lm_data,
    train_lm,
)
from embedeval.train.lm_config import make_config
from embedeval.train.lm_model import build_model
from embedeval.train.transformer_model import TransformerLM


def tf(variant="untied", **kw):
    return make_config("tf-tiny", variant, **{"threads": 1, **kw})


@pytest.mark.parametrize("positions, emb_scale", [("learned", False), ("sinusoidal", True)])
def test_changing_later_tokens_never_changes_earlier_logits(positions, emb_scale):
    torch.manual_seed(0)
    model = TransformerLM(30, tf("wt", positions=positions, emb_scale=emb_scale)).eval()
    tokens = torch.randint(0, 30, (16, 3))  # (time, batch)
    for t in (0, 5, 14):
        changed = tokens.clone()
        changed[t + 1 :] = torch.randint(0, 30, changed[t + 1 :].shape)
        a, _ = model(tokens, [])
        b, _ = model(changed, [])
        torch.testing.assert_close(a[: t + 1], b[: t + 1], atol=0, rtol=0)
        assert not torch.equal(a[t + 1 :], b[t + 1 :])  # and the later ones do see the change


def test_a_context_longer_than_the_model_is_refused():
    model = TransformerLM(30, tf())
    with pytest.raises(ValueError, match="exceed the context"):
        model(torch.zeros(17, 1, dtype=torch.long), [])


@pytest.mark.parametrize("variant", ["wt", "re"])
def test_the_tie_is_one_tensor_counted_once_and_survives_save_load_and_to(tmp_path, variant):
    model = build_model(50, tf(variant))
    assert isinstance(model, TransformerLM)
    assert model.input_embedding() is model.output_embedding()
    untied = build_model(50, tf("untied")).parameter_counts()["unique_parameters"]
    counts = model.parameter_counts()
    bias = 50 if variant == "wt" else 0
    assert counts["unique_parameters"] == untied - 50 * 32 - (50 - bias)  # V (and for re the bias) gone
    assert counts["state_dict_entries"] == counts["unique_parameters"] + 50 * 32
    torch.save(model.state_dict(), tmp_path / "m.pt")
    fresh = build_model(50, tf(variant))
    fresh.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    assert fresh.encoder.weight.data_ptr() == fresh.decoder.weight.data_ptr()
    moved = fresh.to(torch.float64)
    assert moved.encoder.weight is moved.decoder.weight


def test_tied_gradient_splits_into_input_and_output_parts_that_sum_to_autograd():
    torch.manual_seed(0)
    model = TransformerLM(50, tf("wt"))
    seen = {}
    model.grad_hook = lambda role, g: seen.__setitem__(role, g.clone())
    x, y = torch.randint(0, 25, (8, 3)), torch.randint(0, 50, (8, 3))
    logits, _ = model(x, [])
    torch.nn.functional.cross_entropy(logits.view(-1, 50), y.reshape(-1)).backward()
    torch.testing.assert_close(seen["input"] + seen["output"], model.encoder.weight.grad, atol=1e-6, rtol=0)
    assert set(torch.nonzero(seen["input"].abs().sum(1)).flatten().tolist()) <= set(x.flatten().tolist())


def test_weight_decay_never_touches_the_embeddings():
    from embedeval.train.lm import make_optimizer

    model = build_model(50, tf("wt"))
    decayed, plain = make_optimizer(model, model.cfg).param_groups
    assert decayed["weight_decay"] > 0 and plain["weight_decay"] == 0
    assert all(p is not model.encoder.weight for p in decayed["params"])
    assert any(p is model.encoder.weight for p in plain["params"])


def test_warmup_then_cosine_decay():
    cfg = tf(lr=1.0, warmup=10, min_lr_ratio=0.1)
    lrs = [cosine_learning_rate(cfg, s, 110) for s in range(110)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[10] == pytest.approx(1.0) and lrs[-1] == pytest.approx(0.1, abs=1e-3)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


@pytest.mark.parametrize("variant, roles", [("untied", ["input", "output"]), ("wt", ["tied"]), ("re", ["tied"])])
def test_training_exports_the_roles_and_measures_the_whole_split(tmp_path, toy_corpus, variant, roles):
    data = load_lm_data(toy_corpus)
    with RunDir.create(tmp_path / "run") as run:
        summary = train_lm(tf(variant), data, run)
    found = load(tmp_path / "run")
    assert [e.role for e in found] == roles
    assert all(e.model == f"transformer-{variant}" for e in found)
    assert (found[-1].bias is None) == (variant == "re")
    assert 1 < summary["test_ppl"] < 60  # 40 words + <eos>, <unk>: well below uniform after two epochs
    model = build_model(len(data.vocab), tf(variant))
    model.load_state_dict(load_checkpoint(tmp_path / "run" / CHECKPOINT)["model"])
    assert evaluate_perplexity(model, data.test, tf(variant)) == pytest.approx(summary["test_ppl"])


@pytest.mark.parametrize("kernel", [1, 2])  # PyTorch's dropout and AdamW loop; uniform masks and the fused AdamW
def test_a_resumed_run_ends_bit_identical_to_an_uninterrupted_one(tmp_path, toy_corpus, kernel):
    data = load_lm_data(toy_corpus)
    cfg = tf("wt", epochs=2, keep_prob=0.8, dropout_kernel=kernel, optimizer_kernel=kernel)  # dropout, AdamW's moments
    with RunDir.create(tmp_path / "straight") as run:
        train_lm(cfg, data, run)
    with RunDir.create(tmp_path / "cut") as run:
        trainer = LMTrainer(cfg, data, run)
        steps = trainer.steps()
        for _ in range(trainer.n_batches + 3):  # into the second epoch, then stopped as SIGTERM does...
            next(steps)
        trainer.interrupt("test")
        train_lm(cfg, data, run, resume=True)  # ...and continued
    a = load_checkpoint(tmp_path / "straight" / CHECKPOINT)["model"]
    b = load_checkpoint(tmp_path / "cut" / CHECKPOINT)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_tracked_transformer_pair_records_the_dynamics(tmp_path, toy_corpus):
    data = load_lm_data(toy_corpus)
    summary = track(tf("untied", epochs=1), tf("wt", epochs=1), data, tmp_path / "p", TrackConfig(every=5))
    records = read_dynamics(tmp_path / "p")
    assert records[-1]["step"] == summary["steps"]
    last = records[-1]
    assert {"S~U", "S~V"} <= set(last["corr"]) and 0 < last["grad"]["S"]["share_out"] < 1
    assert "dS~dU" in last["align"]


def test_an_impossible_perplexity_is_refused_as_a_causality_bug(tmp_path):
    with RunDir.create(tmp_path / "run") as run:
        with pytest.raises(EmbedevalError, match="causality bug"):
            _refuse_impossible_perplexity(7.5, 10_000, run)
        _refuse_impossible_perplexity(7.5, 500, run)  # a toy vocabulary may well get there


@pytest.mark.parametrize(
    "config, overrides, message",
    [
        ("pw-small", {"arch": "transformer"}, "use --config tf-tiny, tf-small or tf-base"),
        ("tf-tiny", {"emb_size": 16}, "drop --emb-size and set the width with --hidden"),
        ("tf-tiny", {"heads": 3}, "not divisible by --heads"),
        ("tf-tiny", {"variational": True}, "is for the LSTM"),
    ],
)
def test_misconfigured_transformers_are_refused(config, overrides, message):
    with pytest.raises(EmbedevalError, match=message):
        make_config(config, "untied", **overrides)


def test_lstm_only_variants_are_refused():
    with pytest.raises(EmbedevalError, match="is not for --arch transformer"):
        make_config("tf-tiny", "wt+pr")


def test_a_corpus_shorter_than_one_context_window(tmp_path):
    (tmp_path / "short.txt").write_text("a b c d e\n")
    data = load_lm_data(resolve_corpus(tmp_path / "short.txt"))
    with RunDir.create(tmp_path / "run") as run, pytest.raises(EmbedevalError, match="shorter than one batch"):
        train_lm(tf(), data, run)


def test_compare_pairs_a_tied_and_an_untied_transformer(tmp_path, toy_corpus):
    from embedeval.data.registry import load_benchmarks
    from embedeval.report import CompareSettings, build_report, collect
    from embedeval.report.summary import tied_pairs

    data = load_lm_data(toy_corpus)
    for variant in ("untied", "wt"):
        with RunDir.create(tmp_path / variant) as run:
            run.write_config(tf(variant, epochs=1), "lm", toy_corpus.describe(), ["embedeval", "train", "lm"])
            train_lm(tf(variant, epochs=1), data, run)
    sources = collect([tmp_path / "untied", tmp_path / "wt"])
    [(_, tied, untied)] = tied_pairs(sources.runs)
    assert (tied.model, untied.model) == ("transformer-wt", "transformer-untied")
    report = build_report(sources, load_benchmarks(["ws353"]), CompareSettings(n_bootstrap=0), "test")
    assert any("test perplexity is" in line and "untied and" in line for line in report.summary)
    assert [r["variant"] for r in report.lm_rows()] == ["untied", "wt"]
