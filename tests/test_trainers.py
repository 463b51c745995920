"""Every registered step-wise trainer keeps one contract (embedeval.train.base), checked the same way for each, in the
spirit of scikit-learn's parametrize_with_checks: a new trainer is added to KINDS and must pass all of it."""

from __future__ import annotations

import json

import pytest
import torch

from embedeval.rundir import RunDir
from embedeval.train import nmt
from embedeval.train.base import TRAINERS, EmbeddingModel, Trainer, drive, trainer_class
from embedeval.train.lm import load_lm_data
from embedeval.train.lm_config import make_config as lm_config
from embedeval.train.nmt_config import make_config as nmt_config
from embedeval.train.skipgram_config import SkipGramConfig


def _lm(config, toy_corpus, tmp_path):
    data = load_lm_data(toy_corpus)
    untied, tied = ("untied", "wt")
    cfgs = {t: lm_config(config, v, threads=1, max_batches=4, epochs=2) for t, v in ((False, untied), (True, tied))}
    return "lm", cfgs, data


def _nmt(toy_corpus, tmp_path):
    src, tgt = tmp_path / "s.en", tmp_path / "s.de"
    src.write_text("".join(f"a man walks his dog number {i % 7}\n" for i in range(120)), encoding="utf-8")
    tgt.write_text("".join(f"ein mann führt seinen hund nummer {i % 7}\n" for i in range(120)), encoding="utf-8")
    from embedeval.data.parallel import from_files, load_parallel

    text = load_parallel(from_files("en", "de", (str(src), str(tgt))))
    cfgs = {t: nmt_config("nmt-tiny", tie, threads=1, vocab_size=50, max_batches=4, epochs=2, dropout=0.1,
                          max_eval_sentences=3) for t, tie in ((False, "none"), (True, "decoder"))}  # fmt: skip
    src_sp, tgt_sp = nmt.build_subwords(text, cfgs[False])
    return "nmt", cfgs, nmt.encode_data(text, src_sp, tgt_sp, "en", "de")


def _skipgram(toy_corpus, tmp_path):
    cfgs = {tie: SkipGramConfig(backend="torch", dim=8, epochs=2, min_count=1, workers=1, batch_size=64, tie=tie)
            for tie in (False, True)}  # fmt: skip
    return "skipgram", cfgs, toy_corpus


KINDS = {
    "lstm": lambda corpus, tmp: _lm("tiny", corpus, tmp),
    "transformer": lambda corpus, tmp: _lm("tf-tiny", corpus, tmp),
    "nmt": _nmt,
    "skipgram": _skipgram,
}


@pytest.fixture(params=sorted(KINDS))
def kind(request, toy_corpus, tmp_path):
    name, cfgs, data = KINDS[request.param](toy_corpus, tmp_path)
    cls = trainer_class(name)

    def make(folder: str, tied: bool = False, resume: bool = False):
        path = tmp_path / folder
        run = RunDir.open(path) if resume else RunDir.create(path)
        if not resume and name == "nmt":
            nmt.save_subwords(data, run)
        if not resume:
            run.write_config(cfgs[tied], name, {})
        return cls(cfgs[tied], data, run, resume)

    return make


def test_every_trainer_kind_is_checked():
    assert {"lm", "nmt", "skipgram"} == set(TRAINERS)  # a new trainer must be added to KINDS above


def test_keeps_the_protocol(kind):
    trainer = kind("run")
    assert isinstance(trainer, Trainer) and isinstance(trainer.model, EmbeddingModel)
    assert trainer.step == 0 and trainer.epoch == 0 and trainer.total_steps > 0
    if hasattr(trainer, "n_batches"):  # the fixed batches of a language or translation model
        assert trainer.total_steps == 2 * trainer.n_batches


def test_same_seed_same_numbers(kind):
    a, b = kind("a"), kind("b")
    for trainer in (a, b):
        steps = trainer.steps()
        for _ in range(3):
            next(steps)
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), name


def test_interrupt_and_resume_is_bit_exact(kind, tmp_path):
    drive(kind("straight"))
    stopped = kind("stopped")
    steps = stopped.steps()
    while stopped.epoch < 1:  # until one step into the second epoch
        next(steps)
    stopped.interrupt("SIGTERM")
    assert json.loads((tmp_path / "stopped" / "summary.json").read_text())["status"] == "incomplete"
    resumed = kind("stopped", resume=True)
    assert resumed.step == stopped.step
    summary = drive(resumed)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "stopped" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((tmp_path / "stopped" / "summary.json").read_text())["status"] == "complete"
    assert summary["unique_parameters"] > 0


def test_the_tie_is_one_tensor_and_the_tap_splits_its_gradient(kind, monkeypatch):
    import embedeval.train.skipgram as sg

    windows = []  # skip-gram: the windows of the first update, to write its loss out for autograd
    step = sg._sgns_step
    monkeypatch.setattr(
        sg, "_sgns_step", lambda u, v, c, o, w, *rest: windows.append((c, o, w)) or step(u, v, c, o, w, *rest)
    )
    untied, tied = kind("u"), kind("t", tied=True)
    assert untied.model.input_embedding() is not untied.model.output_embedding()
    assert tied.model.input_embedding() is tied.model.output_embedding()
    assert torch.equal(untied.model.input_embedding(), tied.model.input_embedding())  # one seed, one start
    seen: dict[str, tuple] = {}
    tied.model.grad_hook = lambda role, grad, rows=None: seen.__setitem__(role, (grad.clone(), rows))
    before = tied.model.input_embedding().detach().clone()
    next(tied.steps())
    assert set(seen) == {"input", "output"}
    (g_in, rows_in), (g_out, rows_out) = seen["input"], seen["output"]
    if rows_in is None:
        total = g_in + g_out
        grad = tied.model.input_embedding().grad  # after clipping: the same direction, maybe shorter
        cos = torch.nn.functional.cosine_similarity(total.flatten(), grad.flatten(), dim=0)
        assert cos > 0.9999 and grad.norm() <= total.norm() * (1 + 1e-5)
    else:  # skip-gram's updates are written out by hand: check them against autograd of its loss on that batch
        total = torch.zeros_like(before).index_add_(0, rows_in, g_in).index_add_(0, rows_out, g_out)
        from tests.test_skipgram import window_loss_by_autograd

        s = before.clone().requires_grad_()
        window_loss_by_autograd(s, s, *windows[-1]).backward()
        torch.testing.assert_close(total, s.grad, atol=1e-6, rtol=0)


def test_a_tracked_run_equals_the_same_run_trained_alone(toy_corpus, tmp_path):
    """The lockstep pair shares one process: each trainer must draw its own dropout masks, as it would alone."""
    from embedeval.dynamics import TrackConfig, track_nmt

    _, cfgs, data = _nmt(toy_corpus, tmp_path)
    track_nmt(cfgs[False], cfgs[True], data, tmp_path / "track", TrackConfig(every=4, geometry=False))
    run = RunDir.create(tmp_path / "alone")
    drive(trainer_class("nmt")(cfgs[False], data, run))
    a = torch.load(tmp_path / "track" / "untied" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "alone" / "checkpoint.pt", weights_only=True)["model"]
    assert cfgs[False].dropout > 0 and all(torch.equal(a[k], b[k]) for k in a)
