import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from embedeval.data.corpus import resolve_corpus
from embedeval.embeddings import load
from embedeval.errors import EmbedevalError
from embedeval.layout import CHECKPOINT
from embedeval.rundir import RunDir
from embedeval.train.lm import load_checkpoint, load_lm_data, train_lm
from embedeval.train.lm_config import make_config
from embedeval.train.lm_model import RNNLM, strip_compile_prefix


def tiny(variant="untied", **kw):
    return make_config("tiny", variant, **kw)


def test_parameter_counts_match_the_closed_form():
    # small, 10k words: U 2M + V 2M + bias 10k + 2 LSTM layers 4*(200+200)*200 + 8*200 each = 4,653,200
    untied = RNNLM(10000, make_config("pw-small", "untied")).parameter_counts()
    tied = RNNLM(10000, make_config("pw-small", "wt")).parameter_counts()
    assert untied["unique_parameters"] == 4_653_200
    assert tied["unique_parameters"] == 2_653_200
    assert tied["state_dict_entries"] == 4_653_200  # the tied matrix is listed twice
    pr = RNNLM(10000, make_config("pw-small", "wt+pr", pr_bias=False)).parameter_counts()
    assert pr["unique_parameters"] == 2_653_200 + 200 * 200  # the paper's h' = P h: P = H x H
    with_bias = RNNLM(10000, make_config("pw-small", "wt+pr")).parameter_counts()
    assert with_bias["unique_parameters"] == 2_653_200 + 200 * 200 + 200  # the default, as P&W's code: H*H + H
    assert "decoder.bias" not in RNNLM(10000, make_config("pw-small", "re")).state_dict()


@pytest.mark.parametrize("variant", ["wt", "wt+pr", "re", "real"])
def test_tie_is_one_storage_after_init_save_load_and_to(tmp_path, variant):
    cfg = tiny(variant)
    model = RNNLM(50, cfg)
    assert model.encoder.weight is model.decoder.weight
    path = tmp_path / "m.pt"
    torch.save(model.state_dict(), path)
    fresh = RNNLM(50, cfg)
    fresh.load_state_dict(torch.load(path, weights_only=True))
    assert fresh.encoder.weight.data_ptr() == fresh.decoder.weight.data_ptr()
    assert torch.equal(fresh.encoder.weight, model.encoder.weight)
    moved = fresh.to(torch.float64).to("cpu")
    assert moved.encoder.weight is moved.decoder.weight


def test_tie_survives_safetensors(tmp_path):
    from safetensors.torch import load_model, save_model

    cfg = tiny("wt")
    model = RNNLM(50, cfg)
    save_model(model, str(tmp_path / "m.safetensors"))
    fresh = RNNLM(50, cfg)
    load_model(fresh, str(tmp_path / "m.safetensors"))
    assert fresh.encoder.weight is fresh.decoder.weight
    assert torch.equal(fresh.decoder.weight, model.encoder.weight)


def test_checkpoint_of_a_compiled_model_loads():
    cfg = tiny("wt")
    model = RNNLM(50, cfg)
    compiled = torch.compile(model)
    state = compiled.state_dict()
    assert any(k.startswith("_orig_mod.") for k in state)
    fresh = RNNLM(50, cfg)
    fresh.load_state_dict(strip_compile_prefix(state))
    assert fresh.encoder.weight is fresh.decoder.weight


def test_tying_needs_equal_sizes_or_a_projection():
    with pytest.raises(EmbedevalError, match="--variant wt\\+pr"):
        make_config("small", "wt", emb_size=100)
    make_config("small", "wt+pr", emb_size=100)  # a projection bridges the sizes


def test_unknown_config_and_variant_list_the_valid_ones():
    with pytest.raises(EmbedevalError, match="pw-small"):
        make_config("huge")
    with pytest.raises(EmbedevalError, match="wt\\+pr"):
        make_config("small", "tied")


def test_training_writes_the_run_directory(tmp_path, toy_corpus):
    data = load_lm_data(toy_corpus)
    run = RunDir.create(tmp_path / "run")
    summary = train_lm(tiny("untied"), data, run)
    assert summary["test_ppl"] < len(data.vocab)  # better than uniform
    roles = {e.role for e in load(run.path)}
    assert roles == {"input", "output"}
    assert len(run.metrics()) == 2 and run.read_json("summary.json")["status"] == "complete"
    out = [e for e in load(run.path) if e.role == "output"][0]
    assert out.bias is not None and out.bias.shape == (len(data.vocab),)


@pytest.mark.parametrize("scale", [0.0, 0.1])
def test_the_projection_can_learn_at_a_rate_of_its_own(tmp_path, toy_corpus, scale):
    from embedeval.train.lm import LMTrainer

    data = load_lm_data(toy_corpus)
    runs = {}
    for s in (1.0, scale):
        trainer = LMTrainer(tiny("pr", epochs=1, max_batches=3, pr_lr_scale=s), data, RunDir.create(tmp_path / str(s)))
        start = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        steps = trainer.steps()
        next(steps)  # one SGD step from the same start
        runs[s] = {k: trainer.model.state_dict()[k] - start[k] for k in start}
    p = ("projection.weight", "projection.bias")  # P and its bias (on by default, as in P&W's code)
    for k in p:
        torch.testing.assert_close(runs[scale][k], runs[1.0][k] * scale)  # P moved scale times as far
    assert all(torch.equal(runs[scale][k], runs[1.0][k]) for k in runs[1.0] if k not in p)  # everything else alike
    with pytest.raises(EmbedevalError, match="--pr-lr-scale"):
        LMTrainer(tiny("wt", pr_lr_scale=0.5), data, RunDir.create(tmp_path / "wt"))


def test_tied_run_exports_one_tied_matrix(tmp_path, toy_corpus):
    data = load_lm_data(toy_corpus)
    run = RunDir.create(tmp_path / "run")
    train_lm(tiny("wt+pr"), data, run)
    assert [e.role for e in load(run.path)] == ["tied"]
    assert (run.path / "projection.npz").is_file()


def test_resumed_run_ends_bit_identical_to_an_uninterrupted_one(tmp_path, toy_corpus):
    data = load_lm_data(toy_corpus)
    cfg = tiny("wt", epochs=3, max_epoch=1, keep_prob=0.7)  # dropout: the RNG state must resume too
    straight = RunDir.create(tmp_path / "straight")
    train_lm(cfg, data, straight)
    cut = RunDir.create(tmp_path / "cut")
    train_lm(make_config("tiny", "wt", epochs=1, max_epoch=1, keep_prob=0.7), data, cut)  # "killed" after one epoch
    train_lm(cfg, data, cut, resume=True)
    a = load_checkpoint(straight.path / CHECKPOINT)["model"]
    b = load_checkpoint(cut.path / CHECKPOINT)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sigterm_checkpoints_and_resume_finishes(tmp_path, toy_corpus):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "embedeval.cli",
        "train",
        "lm",
        "--corpus",
        str(toy_corpus.path("train").parent),
        "--config",
        "tiny",
        "--epochs",
        "200",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out / CHECKPOINT).exists():
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "continue with --resume" in err and "Traceback" not in err
    state = load_checkpoint(out / CHECKPOINT)
    assert RunDir(out).read_json("summary.json")["status"] == "incomplete"
    assert state["epoch"] >= 1


def test_corpus_shorter_than_one_batch(tmp_path):
    (tmp_path / "short.txt").write_text("a b c\n")
    data = load_lm_data(resolve_corpus(tmp_path / "short.txt"))
    with pytest.raises(EmbedevalError, match="shorter than one batch"):
        train_lm(tiny(), data, RunDir.create(tmp_path / "run"))


def test_nan_loss_stops_with_a_message_and_keeps_the_last_checkpoint(tmp_path, toy_corpus, monkeypatch):
    import embedeval.train.lm as lm

    data = load_lm_data(toy_corpus)
    run = RunDir.create(tmp_path / "run")
    train_lm(tiny(epochs=1), data, run)
    good = load_checkpoint(run.path / CHECKPOINT)
    real_cost = lm.lm_cost

    def diverging(*args):
        cost, ce, hidden = real_cost(*args)
        return cost * float("nan"), ce, hidden

    monkeypatch.setattr(lm, "lm_cost", diverging)
    with pytest.raises(EmbedevalError, match="loss became"):
        train_lm(tiny(epochs=2), data, run, resume=True)
    kept = load_checkpoint(run.path / CHECKPOINT)
    assert all(torch.equal(good["model"][k], kept["model"][k]) for k in good["model"])


def test_vocabulary_mismatch_on_resume(tmp_path, toy_corpus):
    data = load_lm_data(toy_corpus)
    run = RunDir.create(tmp_path / "run")
    train_lm(tiny(epochs=1), data, run)
    (tmp_path / "other.txt").write_text(" ".join(f"v{i}" for i in range(300)) + "\n")
    other = load_lm_data(resolve_corpus(tmp_path / "other.txt"))
    with pytest.raises(EmbedevalError, match="vocabulary mismatch"):
        train_lm(tiny(epochs=2), other, run, resume=True)


def test_resume_with_a_different_variant_is_refused_with_the_runs_settings(tmp_path, toy_corpus):
    data = load_lm_data(toy_corpus)
    run = RunDir.create(tmp_path / "run")
    train_lm(tiny("untied", epochs=1), data, run)  # from Python: config.json is written all the same
    with pytest.raises(EmbedevalError, match=r"variant 'pr' \(the run has 'untied'\)"):
        train_lm(tiny("pr", epochs=2), data, run, resume=True)


def test_cli_refuses_a_non_empty_out_without_overwrite(tmp_path, toy_corpus):
    from tests.conftest import run_cli

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    code, _, err = run_cli(
        "train", "lm", "--corpus", str(toy_corpus.path("train")), "--config", "tiny", "--out", str(tmp_path / "full")
    )
    assert code == 2 and "--overwrite" in err and (tmp_path / "full" / "x").exists()


def test_resume_refuses_other_settings_but_may_add_epochs_and_threads(tmp_path, toy_corpus):
    from tests.conftest import run_cli

    base = ("train", "lm", "--corpus", str(toy_corpus.path("train").parent), "--config", "tiny", "--variant", "wt")
    out = ("--out", str(tmp_path / "run"))
    assert run_cli(*base, "--epochs", "1", *out)[0] == 0
    code, _, err = run_cli(*base, "--epochs", "2", "--lr", "0.5", *out, "--resume")
    assert code == 2 and "Traceback" not in err
    assert "lr 0.5 (the run has 1.0)" in " ".join(err.split())
    code, _, err = run_cli(*base, "--epochs", "2", "--threads", "1", *out, "--resume")
    assert code == 0, err
    assert len(RunDir(tmp_path / "run").metrics()) == 2
    # a setting this variant never reads (wt has no augmented loss) may differ: a default changed since the run began
    code, _, err = run_cli(*base, "--epochs", "3", "--al-gamma", "2", *out, "--resume")
    assert code == 0, err
    al = ("train", "lm", "--corpus", str(toy_corpus.path("train").parent), "--config", "tiny", "--variant", "al")
    assert run_cli(*al, "--epochs", "1", "--out", str(tmp_path / "al"))[0] == 0
    code, _, err = run_cli(*al, "--epochs", "2", "--al-gamma", "2", "--out", str(tmp_path / "al"), "--resume")
    assert code == 2 and "al_gamma 2.0 (the run has 0.5)" in " ".join(err.split())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_keeps_the_tie(tmp_path, toy_corpus):
    from embedeval.train.lm import LMTrainer

    data = load_lm_data(toy_corpus)
    run = RunDir.create(tmp_path / "run")
    trainer = LMTrainer(tiny("wt", device="cuda"), data, run)
    for _ in trainer.steps():
        pass
    model = trainer.model
    assert model.encoder.weight.is_cuda and model.encoder.weight is model.decoder.weight  # one tensor, trained
    state = load_checkpoint(run.path / CHECKPOINT)["model"]
    assert torch.equal(state["encoder.weight"], state["decoder.weight"])
    assert np.isfinite(trainer.summary["test_ppl"])


def test_pw_small_dry_run_on_ptb(tmp_path, data_dir):
    from tests.conftest import run_cli

    code, out, err = run_cli(
        "train",
        "lm",
        "--corpus",
        "ptb",
        "--dry-run",
        "--variant",
        "wt",
        "--data-dir",
        str(data_dir),
        "--out",
        str(tmp_path / "run"),
    )
    assert code == 0, err
    assert "2,653,200 unique" in err.replace("\n", " ")


def test_learning_rate_follows_zarembas_code():
    # small: lr_decay ** max(i - max_epoch, 0) for 0-based epoch i -> five epochs at 1.0, then halving
    from embedeval.train.lm import learning_rate

    cfg = make_config("pw-small")
    assert [learning_rate(cfg, i) for i in range(8)] == [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]


def test_settings_out_of_range_are_refused_before_training():
    for field, value in (("lr", float("inf")), ("clip", -1.0), ("epochs", 0), ("keep_prob", 1.5), ("bptt", 0)):
        with pytest.raises(EmbedevalError, match=f"--{field.replace('_', '-')}"):
            tiny(**{field: value})


def test_a_resumed_epoch_reports_the_train_ppl_of_the_whole_epoch(tmp_path, toy_corpus):
    from embedeval.train.lm import LMTrainer

    data = load_lm_data(toy_corpus)
    cfg = tiny(epochs=1)
    straight = RunDir.create(tmp_path / "straight")
    train_lm(cfg, data, straight)
    cut = RunDir.create(tmp_path / "cut")
    trainer = LMTrainer(cfg, data, cut)
    steps = trainer.steps()
    for _ in range(5):
        next(steps)
    trainer.interrupt("test")  # as SIGTERM does: checkpoint mid-epoch
    train_lm(cfg, data, cut, resume=True)
    assert [r["epoch"] for r in cut.metrics()] == [1]
    assert cut.metrics()[0]["train_ppl"] == pytest.approx(straight.metrics()[0]["train_ppl"], rel=1e-12)


def test_an_epoch_logged_before_a_failed_checkpoint_appears_once(tmp_path, toy_corpus):
    data = load_lm_data(toy_corpus)
    run = RunDir.create(tmp_path / "run")
    train_lm(tiny(epochs=1), data, run)
    run.log({"epoch": 2, "train_ppl": 1.0})  # as if epoch 2 was logged and its checkpoint then failed
    train_lm(tiny(epochs=2), data, run, resume=True)
    assert [r["epoch"] for r in run.metrics()] == [1, 2]
    assert run.metrics()[1]["train_ppl"] != 1.0


def test_dry_run_evaluation_is_capped(toy_corpus):
    from embedeval.train.lm import evaluate_perplexity

    data = load_lm_data(toy_corpus)
    model = RNNLM(len(data.vocab), tiny())
    capped = evaluate_perplexity(model, data.test, tiny(max_eval_tokens=50))
    assert capped == pytest.approx(evaluate_perplexity(model, data.test[:51], tiny()))
    assert capped != pytest.approx(evaluate_perplexity(model, data.test, tiny()))


def test_overfitting_goes_on_but_divergence_stops():
    from embedeval.train.lm import diverging

    def h(*pairs):
        return [{"train_ppl": t, "valid_ppl": v} for t, v in pairs]

    assert not diverging(h((50, 120), (45, 121), (42, 122)))  # valid up, train down: overfitting, keep going
    assert not diverging(h((200, 180), (300, 150), (400, 160)))  # not two rises in a row
    assert diverging(h((150, 152), (180, 153), (2000, 186)))  # REAL in session 3: both up twice


def test_a_diverging_run_stops_with_the_previous_checkpoint_kept(tmp_path, toy_corpus, monkeypatch):
    import embedeval.train.lm as lm

    data = load_lm_data(toy_corpus)
    scale = {"epoch": 0}
    real_cost = lm.lm_cost

    def worse_each_epoch(*args):  # the summed cross-entropy (train ppl) grows from epoch 2 on
        cost, ce, hidden = real_cost(*args)
        return cost, ce * (1 + 0.5 * scale["epoch"]), hidden

    def valid_rising(model, ids, cfg, batch_size=None):
        scale["epoch"] += 1
        return 100.0 + 10 * scale["epoch"]

    monkeypatch.setattr(lm, "lm_cost", worse_each_epoch)
    monkeypatch.setattr(lm, "evaluate_perplexity", valid_rising)
    with RunDir.create(tmp_path / "run") as run, pytest.raises(EmbedevalError, match="diverging"):
        train_lm(tiny(epochs=6), data, run)
    # epochs 2 and 3 both rose: what is left on disk is epoch 1, the last before the rise, checkpoint and embeddings
    state = load_checkpoint(tmp_path / "run" / CHECKPOINT)
    assert state["epoch"] == 1
    [saved] = load(tmp_path / "run" / "embeddings" / "input.npz")
    np.testing.assert_array_equal(saved.vectors, state["model"]["encoder.weight"].numpy())
    assert not (tmp_path / "run" / "last-good").exists()
    assert "epoch 1, the last before the rise" in run.read_json("summary.json")["error"]


def test_one_bad_epoch_keeps_a_copy_aside_until_the_next_one_recovers(tmp_path):
    from embedeval.train.lm import keep_last_good, restore_last_good, rose

    def h(*pairs):
        return [{"train_ppl": t, "valid_ppl": v} for t, v in pairs]

    assert rose(h((100, 130), (110, 140))) and not rose(h((100, 130), (90, 140)))
    run = tmp_path / "run"
    (run / "embeddings").mkdir(parents=True)
    (run / "checkpoint.pt").write_bytes(b"epoch 4")
    (run / "embeddings" / "tied.npz").write_bytes(b"epoch 4 rows")
    keep_last_good(run)  # epoch 5 rose: epoch 4's files go aside before epoch 5's replace them
    (run / "checkpoint.pt").write_bytes(b"epoch 5")
    (run / "embeddings" / "tied.npz").write_bytes(b"epoch 5 rows")
    restore_last_good(run)  # epoch 6 rose again: the run diverged, epoch 4 comes back
    assert (run / "checkpoint.pt").read_bytes() == b"epoch 4"
    assert (run / "embeddings" / "tied.npz").read_bytes() == b"epoch 4 rows"
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "embeddings"]


@pytest.mark.parametrize("loss", ["sum-over-time", "mean"])
def test_the_augmented_loss_is_on_the_scale_of_the_cross_entropy_it_is_added_to(loss):
    """Inan et al.: cost = CE + gamma * tau * KL(y~ || softmax(W h / tau)), both summed over the same tokens and
    divided by the same number (the batch for Zaremba's cost, the tokens for a per-token mean)."""
    import torch.nn.functional as F

    from embedeval.train.lm import lm_cost
    from embedeval.train.lm_model import build_model

    cfg = make_config("tiny", "al", loss=loss, al_tau=2.0, al_gamma=0.5)
    torch.manual_seed(0)
    model = build_model(40, cfg)
    with torch.no_grad():
        model.decoder.bias.normal_()  # a zero bias would hide which logits carry it
    x, y = torch.randint(0, 40, (6, 3)), torch.randint(0, 40, (6, 3))
    cost, ce_sum, _ = lm_cost(model, cfg, x, y, model.init_hidden(3))
    features, _ = model.features(x, model.init_hidden(3))
    u = model.encoder.weight
    target = F.softmax(u[y] @ u.t() / 2.0, dim=-1)
    log_pred = F.log_softmax(features @ model.decoder.weight.t() / 2.0, dim=-1)
    kl = (target * (target.log() - log_pred)).sum()
    scale = 3 if loss == "sum-over-time" else 18
    torch.testing.assert_close(cost, (ce_sum + 0.5 * 2.0 * kl) / scale, rtol=1e-5, atol=1e-5)
    # the cross-entropy itself keeps the output bias (only the KL's logits drop it)
    logits = features @ model.decoder.weight.t() + model.decoder.bias
    torch.testing.assert_close(ce_sum, F.cross_entropy(logits.view(-1, 40), y.reshape(-1), reduction="sum"))


def test_the_augmented_loss_target_passes_gradient_only_when_asked():
    from embedeval.train.lm import lm_cost
    from embedeval.train.lm_model import build_model

    grads = {}
    for flag in (False, True):
        cfg = make_config("tiny", "al", al_target_grad=flag)
        torch.manual_seed(0)
        model = build_model(30, cfg)
        x, y = torch.randint(0, 30, (5, 2)), torch.randint(0, 30, (5, 2))
        cost, _, _ = lm_cost(model, cfg, x, y, model.init_hidden(2))
        cost.backward()
        grads[flag] = model.encoder.weight.grad.clone()
    assert not torch.allclose(grads[False], grads[True])
