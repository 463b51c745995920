"""Every registered trainer passes the check suite (embedeval.testing), in the spirit of scikit-learn's
parametrize_with_checks: a family registered in embedeval.trainers is enrolled here with no list to edit."""

from __future__ import annotations

import math

import pytest
import torch

from embedeval import testing, trainers
from embedeval.rundir import RunDir


def test_every_registered_family_is_enrolled():
    assert {"lm", "nmt", "skipgram"} <= set(trainers.names())
    assert set(testing.labels()) >= {"lstm", "transformer", "nmt", "skipgram"}


@pytest.mark.parametrize("check", testing.CHECKS, ids=[c.__name__ for c in testing.CHECKS])
@pytest.mark.parametrize("label", testing.labels())
def test_registered_trainer(label, check, toy_corpus, tmp_path):
    check(testing.setup(label, toy_corpus, tmp_path))


def test_a_check_fails_on_a_trainer_that_breaks_the_tie(toy_corpus, tmp_path):
    """The suite can fail: a tied model whose V is a copy of U, not the same tensor, is caught."""
    s = testing.setup("lstm", toy_corpus, tmp_path)
    real = s.make

    def broken(name, tied=False, resume=False):
        trainer = real(name, tied, resume)
        if tied:
            trainer.model.decoder.weight = torch.nn.Parameter(trainer.model.encoder.weight.detach().clone())
        return trainer

    s.make = broken
    with pytest.raises(AssertionError, match="one tensor"):
        testing.check_tie_is_one_tensor(s)


def test_the_non_finite_loss_guard_stops_before_the_step_and_says_where(tmp_path):
    """The one guard the language and translation trainers run before backward()."""
    import json
    import math
    from types import SimpleNamespace

    from embedeval.errors import EmbedevalError
    from embedeval.train.base import check_finite_loss

    run = RunDir.create(tmp_path / "run")
    trainer = SimpleNamespace(run=run, epoch=2, batch=17)
    check_finite_loss(torch.tensor(3.5), trainer, "lower --lr")  # a finite loss passes
    with pytest.raises(EmbedevalError, match=r"loss became nan at epoch 3, batch 17: stopped.*\(lower --lr\)"):
        check_finite_loss(torch.tensor(math.nan), trainer, "lower --lr")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "incomplete" and "epoch 3, batch 17" in summary["error"]


def test_one_update_sets_the_lr_before_the_step_and_moves_the_counters(tmp_path):
    """The step both batch-walking trainers take: guard, backward, clip, this step's lr, step, counters."""
    from types import SimpleNamespace

    from embedeval.train.base import update

    model = torch.nn.Linear(2, 1, bias=False)
    torch.nn.init.ones_(model.weight)
    optimizer = torch.optim.SGD(model.parameters(), lr=99.0)
    trainer = SimpleNamespace(
        model=model, optimizer=optimizer, step=4, batch=1, epoch=0, run=RunDir.create(tmp_path / "r")
    )

    def set_lr():
        optimizer.param_groups[0]["lr"] = 0.5

    cost = (model(torch.tensor([[3.0, 4.0]])) ** 2).sum() / 2  # gradient (7 * 3, 7 * 4) = (21, 28), norm 35
    update(trainer, cost, 3.5, "lower --lr", set_lr)  # clipped to norm 3.5: (2.1, 2.8)
    torch.testing.assert_close(model.weight, torch.tensor([[1 - 0.5 * 2.1, 1 - 0.5 * 2.8]]))
    assert (trainer.step, trainer.batch) == (5, 2)


def test_every_family_has_a_track_command_that_starts_its_pair():
    """`embedeval track` offers every registered family; one without a pair starter would be offered and then fail.
    The starters are the CLI's own (the registry, on the train floor, names no CLI function)."""
    from embedeval.cli.track import TRACK_COMMANDS

    for spec in trainers.specs():
        assert callable(trainers.load_function(TRACK_COMMANDS[spec.name])), spec.name


class _CountingTrainer:
    """A trainer with nothing but the pieces the shared epoch loop asks for: it records the order of events."""

    ADVICE, PROGRESS_EVERY, EMPTY_SUMS = "lower --lr", 1, (0.0, 0)

    def __init__(self, run, stop_at_epoch=None):
        from types import SimpleNamespace

        self.cfg = SimpleNamespace(epochs=2, clip=1.0)
        self.model = torch.nn.Linear(1, 1)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.world = SimpleNamespace(distributed=False, main=True)
        self.run, self.stop_at_epoch = run, stop_at_epoch
        self.epoch = self.batch = self.step = 0
        self.n_batches, self.partial, self.history, self.events = 3, (0.0, 0), [], []

    def start_epoch(self):
        self.events.append(f"start {self.epoch + 1}")

    def step_lr(self):
        pass

    def train_batch(self):
        return self.model(torch.ones(1, 1)).sum() ** 2, (2.0, 4)

    def end_epoch(self, sums, tokens_at_start, seconds):
        if self.epoch + 1 == self.stop_at_epoch:
            raise RuntimeError("stop")
        self.events.append(f"end {self.epoch + 1}: sums {sums}")
        return {"epoch": self.epoch + 1}

    def checkpoint(self):
        self.events.append(f"checkpoint after epoch {self.epoch}")

    def finish(self):
        self.events.append("finish")


def test_the_shared_epoch_loop_checkpoints_before_it_logs_and_stops_before_the_checkpoint(tmp_path):
    from embedeval.train.base import batch_epochs

    run = RunDir.create(tmp_path / "run")
    trainer = _CountingTrainer(run)
    seen = []
    assert list(batch_epochs(trainer, progress=seen.append)) == [1, 2, 3, 4, 5, 6]  # one yield per step
    assert trainer.events == ["start 1", "end 1: sums (6.0, 12)", "checkpoint after epoch 1",
                              "start 2", "end 2: sums (6.0, 12)", "checkpoint after epoch 2", "finish"]  # fmt: skip
    assert [r["epoch"] for r in run.metrics()] == [1, 2] and trainer.history == [{"epoch": 1}, {"epoch": 2}]
    assert seen[-1]["train_ppl"] == pytest.approx(math.exp(0.5))  # summed NLL / tokens of the epoch so far

    stopped = _CountingTrainer(RunDir.create(tmp_path / "stopped"), stop_at_epoch=2)
    with pytest.raises(RuntimeError):
        list(batch_epochs(stopped))
    assert stopped.events[-1] == "start 2" and "checkpoint after epoch 2" not in stopped.events
    assert [r["epoch"] for r in stopped.run.metrics()] == [1]  # the stopped epoch is neither kept nor logged


def test_the_tie_is_written_once():
    """Every tied model ties through embedeval.train.base.tie: no model file assigns one Parameter to another."""
    import re

    from tests.conftest import ROOT

    hand_written = []
    for path in (ROOT / "embedeval" / "train").glob("*_model.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\.weight\s*=\s*self\.\w+\.weight", line):
                hand_written.append(f"{path.name}:{number}: {line.strip()}")
    assert not hand_written, hand_written
