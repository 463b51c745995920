"""The check suite every registered trainer passes, in the spirit of scikit-learn's ``check_*`` functions.

Each ``check_*`` takes a :class:`Setup` (a registered family's tiny untied and tied configs, its data and a scratch
folder) and raises AssertionError when the trainer breaks the contract of :mod:`embedeval.train.base`. A family is
enrolled by its registration alone (:func:`setups` walks :mod:`embedeval.trainers`): no list to edit.
``tests/test_trainers.py`` applies every check to every setup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from embedeval import trainers
from embedeval.errors import EmbedevalError
from embedeval.layout import CHECKPOINT, SUMMARY
from embedeval.rundir import RunDir, read_run_file


@dataclass
class Setup:
    label: str  # the architecture (lstm, transformer, nmt, skipgram ...)
    spec: trainers.TrainerSpec
    configs: dict[bool, Any]  # untied, tied
    data: Any
    folder: Path

    def make(self, name: str, tied: bool = False, resume: bool = False) -> Any:
        """A trainer writing into ``folder/name`` (opened again with ``resume``), as the CLI would start it."""
        path = self.folder / name
        run = RunDir.open(path) if resume else RunDir.create(path)
        if not resume:
            run.write_config(self.configs[tied], self.spec.name, {})
        return self.spec.trainer_class()(self.configs[tied], self.data, run, resume)


def setups(corpus: Any, folder: Path) -> Iterator[Setup]:
    """One setup per registered architecture (each in its own subfolder of ``folder``)."""
    for spec in trainers.specs():
        for label, tiny in spec.tiny_setups():
            where = Path(folder) / label
            where.mkdir(parents=True, exist_ok=True)
            configs, data = tiny(corpus, where)
            yield Setup(label, spec, configs, data, where)


def labels() -> list[str]:
    """The setups' labels, without building them (for test ids)."""
    return [label for spec in trainers.specs() for label in spec.tiny_labels()]


def setup(label: str, corpus: Any, folder: Path) -> Setup:
    for spec in trainers.specs():
        for name, tiny in spec.tiny_setups():
            if name == label:
                configs, data = tiny(corpus, folder)
                return Setup(label, spec, configs, data, Path(folder))
    raise KeyError(label)


def _advance(trainer: Any, steps: int) -> Iterator[int]:
    gen = trainer.steps()
    for _ in range(steps):
        next(gen)
    return gen


def _drive(trainer: Any) -> dict[str, Any]:
    from embedeval.train.base import drive

    return drive(trainer)


def check_protocol(s: Setup) -> None:
    """A trainer and its model keep the protocols; a fresh one stands at step 0 with work to do."""
    from embedeval.train.base import EmbeddingModel, Trainer

    trainer = s.make("protocol")
    assert isinstance(trainer, Trainer), "not a Trainer (steps, interrupt, step, epoch, total_steps, summary, model)"
    assert isinstance(trainer.model, EmbeddingModel), "the model lacks input_embedding/output_embedding/grad_hook"
    assert trainer.step == 0 and trainer.epoch == 0 and trainer.total_steps > 0
    for method in ("tracked_vocabulary", "record_position", "start_position", "lr"):
        assert callable(getattr(trainer, method, None)), f"the dynamics tracker needs {method}()"
    words, counts = trainer.tracked_vocabulary()
    assert len(words) == len(counts) > 0
    from embedeval.train.base import EpochTrainer

    if hasattr(trainer, "train_batch"):  # a trainer that walks batches runs in batch_epochs: it keeps that contract
        missing = [name for name in EpochTrainer.__annotations__ if not hasattr(trainer, name)]
        missing += [m for m in ("start_epoch", "train_batch", "step_lr", "end_epoch", "checkpoint", "finish")
                    if not callable(getattr(trainer, m, None))]  # fmt: skip
        assert not missing, f"batch_epochs needs {', '.join(missing)}"
        assert isinstance(trainer, EpochTrainer)


def check_same_seed_same_numbers(s: Setup) -> None:
    """Two trainers with one config take identical steps."""
    a, b = s.make("seed-a"), s.make("seed-b")
    _advance(a, 3)
    _advance(b, 3)
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), f"{name} differs between two runs of one seed"


def check_resume_is_bit_exact(s: Setup) -> None:
    """Interrupted one step into the second epoch and resumed, a run ends where an uninterrupted one does."""
    _drive(s.make("straight"))
    stopped = s.make("stopped")
    gen = stopped.steps()
    while stopped.epoch < 1:
        next(gen)
    stopped.interrupt("SIGTERM")
    assert _summary(s.folder / "stopped")["status"] == "incomplete"
    resumed = s.make("stopped", resume=True)
    assert resumed.step == stopped.step, "a resumed run must continue at the step it stopped at"
    _drive(resumed)
    a = torch.load(s.folder / "straight" / CHECKPOINT, weights_only=True)["model"]
    b = torch.load(s.folder / "stopped" / CHECKPOINT, weights_only=True)["model"]
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after an interrupt and resume"
    assert _summary(s.folder / "stopped")["status"] == "complete"


def check_tie_is_one_tensor(s: Setup) -> None:
    """Tied, U and V are one tensor; untied, two; both start from the same U (one seed)."""
    untied, tied = s.make("one-u"), s.make("one-t", tied=True)
    assert s.configs[True].tied and not s.configs[False].tied, "the tiny configs must be untied and tied"
    assert untied.model.input_embedding() is not untied.model.output_embedding()
    assert tied.model.input_embedding() is tied.model.output_embedding(), "a tied model must hold one tensor"
    assert torch.equal(untied.model.input_embedding(), tied.model.input_embedding()), "one seed, one start"


def check_tap_splits_the_tied_gradient(s: Setup) -> None:
    """The gradient tap reports the tied matrix's gradient in two parts, G_in + G_out = its whole gradient: checked
    against autograd's gradient (dense trainers) or against the update itself, S_after = S_before - lr (G_in + G_out)
    (trainers that update rows by hand with plain SGD)."""
    tied = s.make("tap", tied=True)
    seen: dict[str, tuple[torch.Tensor, Any]] = {}
    tied.model.grad_hook = lambda role, grad, rows=None: seen.__setitem__(role, (grad.detach().clone(), rows))
    before = tied.model.input_embedding().detach().clone()
    _advance(tied, 1)
    assert set(seen) == {"input", "output"}, f"the tap reported {sorted(seen)}, not both sides"
    (g_in, rows_in), (g_out, rows_out) = seen["input"], seen["output"]
    if rows_in is None:
        total = g_in + g_out
        grad = tied.model.input_embedding().grad  # after clipping: the same direction, maybe shorter
        cos = torch.nn.functional.cosine_similarity(total.flatten(), grad.flatten(), dim=0)
        assert cos > 0.9999 and grad.norm() <= total.norm() * (1 + 1e-5), "G_in + G_out is not the gradient"
    else:
        total = torch.zeros_like(before).index_add_(0, rows_in, g_in).index_add_(0, rows_out, g_out)
        after = tied.model.input_embedding().detach()
        torch.testing.assert_close(after, before - tied.lr() * total, atol=1e-6, rtol=0)


def check_exports_and_summary(s: Setup) -> None:
    """A finished run exports U and V (untied) or S (tied) with its vocabulary's rows, and a complete summary with
    its parameter count."""
    from embedeval.embeddings.runs import load_run_embeddings

    for tied, name in ((False, "export-u"), (True, "export-t")):
        summary = _drive(s.make(name, tied))
        assert summary["unique_parameters"] > 0 and _summary(s.folder / name)["status"] == "complete"
        roles = {e.role for e in load_run_embeddings(s.folder / name)}
        wanted = {"tied"} if tied else {"input", "output"}
        assert wanted <= roles, f"exports {sorted(roles)}, not {sorted(wanted)}"
        assert not (tied and {"input", "output"} & roles), "a tied run exports S, not a U and a V"


def check_non_finite_stops_and_keeps_the_last_good_checkpoint(s: Setup) -> None:
    """A model whose weights turn NaN in the second epoch stops with a message; the checkpoint on disk is the
    finite one of the first epoch."""
    trainer = s.make("nan")
    gen = trainer.steps()
    while trainer.epoch < 1:
        next(gen)
    with torch.no_grad():
        trainer.model.input_embedding().fill_(math.nan)
    try:
        for _ in gen:
            pass
    except EmbedevalError:
        pass
    else:
        raise AssertionError("a run with NaN weights trained to the end without stopping")
    kept = torch.load(s.folder / "nan" / CHECKPOINT, weights_only=True)["model"]
    assert all(torch.isfinite(t).all() for t in kept.values() if t.is_floating_point()), "a NaN checkpoint was kept"
    assert _summary(s.folder / "nan")["status"] != "complete"


def check_a_tracked_run_is_the_same_run_trained_alone(s: Setup) -> None:
    """The lockstep pair (``embedeval track``) trains each side as it would train alone, bit for bit: the tracker's
    gradient tap, its records and the other run in the same process change no number (so a tracked pair's runs
    count as ordinary runs of their seed)."""
    from embedeval.dynamics.tracker import TrackConfig, track

    track(s.configs[False], s.configs[True], s.data, s.folder / "tracked", TrackConfig(every=2, geometry=False))
    for tied, side in ((False, "untied"), (True, "tied")):
        _drive(s.make(f"alone-{side}", tied))
        a = torch.load(s.folder / "tracked" / side / CHECKPOINT, weights_only=True)["model"]
        b = torch.load(s.folder / f"alone-{side}" / CHECKPOINT, weights_only=True)["model"]
        for key in a:
            assert torch.equal(a[key], b[key]), f"the tracked {side} run's {key} differs from the run trained alone"


def _summary(folder: Path) -> dict[str, Any]:
    return read_run_file(folder / SUMMARY, "summary.json") or {}


CHECKS: list[Callable[[Setup], None]] = [
    check_protocol,
    check_same_seed_same_numbers,
    check_resume_is_bit_exact,
    check_tie_is_one_tensor,
    check_tap_splits_the_tied_gradient,
    check_exports_and_summary,
    check_non_finite_stops_and_keeps_the_last_good_checkpoint,
    check_a_tracked_run_is_the_same_run_trained_alone,
]

__all__ = ["CHECKS", "Setup", "labels", "setup", "setups", *[c.__name__ for c in CHECKS]]
