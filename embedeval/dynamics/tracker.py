"""Train a tied and an untied run in lockstep and record how S moves relative to U and V.

Layout of a track directory::

    DIR/track.json         what was tracked: trainer, both configs, interval, buckets, probe pairs
    DIR/dynamics.jsonl     one record per interval (see docs/methods.md section 6 and embedeval.dynamics.metrics)
    DIR/snapshots/         float16 rows of S, U, V for a fixed, bucket-stratified word sample, per record
    DIR/tied/, DIR/untied/ ordinary run directories (checkpoints, metrics, embeddings)

Both runs are built from one seed, so the matrices they share start equal (checked), and they advance
one step each in turn over the same batches. A single run (``embedeval train ... --track``) writes the
same records, without the cross-run measures, to ``RUN_DIR/dynamics.jsonl``.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embedeval import trainers
from embedeval.data.registry import load_benchmarks
from embedeval.dynamics.buckets import frequency_buckets
from embedeval.dynamics.gradients import GradientSplit
from embedeval.dynamics.metrics import compare_states, knn_queries, pair_probe
from embedeval.dynamics.records import DYNAMICS, append_record, truncate_after
from embedeval.errors import EmbedevalError
from embedeval.files import OutputDir, WriteError, atomic_write_json, atomic_write_npz, atomic_write_text
from embedeval.layout import PREVIOUS, SCHEMA, SUMMARY, TRACK
from embedeval.rundir import RunDir, package_versions
from embedeval.train.base import StopOnSignal

Progress = Callable[[dict[str, Any]], None]


@dataclass
class TrackConfig:
    every: int = 0  # steps between records; 0: about 40 records over the run
    grad_every: int = 0  # gradient split measured on every n-th step; 0: LM 4, SGNS 25
    benchmarks: tuple[str, ...] = ("simlex999", "ws353", "men", "rw")  # bundled: no data directory needed
    knn_per_bucket: int = 200
    k: int = 10
    geometry: bool = True  # CKA and k-NN overlap (the costliest part of a record)
    snapshot_words: int = 500
    snapshot_budget_mb: float = 45.0
    seed: int = 0


def check_pair(untied: Any, tied: Any) -> None:
    """Refuse a pair that is not a tied run and the untied run it is the tied form of (the registry's partner
    table), nor one whose configs differ in anything but tying, naming the field."""
    spec = trainers.for_config(tied)
    if trainers.for_config(untied) is not spec:
        raise EmbedevalError("the two configs of a pair belong to different model families")
    a, b = dataclasses.asdict(untied), dataclasses.asdict(tied)
    partner = spec.untied_partner(b)
    if partner is None:
        raise EmbedevalError(
            f"the second run of a pair must be tied; {trainers.model_name(spec.name, b)} is not (the first run is "
            "the untied one)"
        )
    for key, value in partner.items():
        if a.get(key) != value:
            raise EmbedevalError(
                f"{trainers.model_name(spec.name, b)} is the tied form of {key} {value!r}, not of {key} {a.get(key)!r};"
                f" pair it with {key} {value!r}"
            )
    for name in a:
        if name not in partner and a[name] != b[name]:
            raise EmbedevalError(
                f"the untied and tied configs differ in {name!r} ({a[name]!r} vs {b[name]!r}); a tracked pair "
                "may differ only in tying"
            )


def record_interval(tcfg: TrackConfig, total_steps: int) -> int:
    """Steps between records: ``--every``, else about 40 records over the run."""
    return tcfg.every or max(1, total_steps // 40)


def grad_interval(tcfg: TrackConfig, every: int, default: int) -> int:
    """Sample the gradient split often enough that every interval sees at least a few steps."""
    return tcfg.grad_every or max(1, min(default, every // 4))


class Recorder:
    """Buckets, probe pairs, gradient accumulators, records and snapshots for one track directory."""

    def __init__(
        self,
        out: Path,
        words: list[str],
        counts: np.ndarray,
        tcfg: TrackConfig,
        roles: tuple[str, ...],
        total_steps: int,
        resume_step: int = 0,
        meta: dict[str, Any] | None = None,
    ):
        self.out, self.tcfg, self.roles = out, tcfg, roles
        if tcfg.every > total_steps:
            raise EmbedevalError(
                f"--every {tcfg.every} is larger than the run ({total_steps} steps): nothing would be recorded; "
                f"use --every {max(1, total_steps // 40)} or fewer"
            )
        self.every = record_interval(tcfg, total_steps)
        self.buckets = frequency_buckets(counts)
        self.probe = pair_probe(words, self.buckets, load_benchmarks(list(tcfg.benchmarks)))
        self.queries = knn_queries(self.buckets, tcfg.knn_per_bucket, tcfg.seed)
        self.snapshot_rows = knn_queries(
            self.buckets, max(1, tcfg.snapshot_words // max(len(self.buckets), 1)), tcfg.seed + 1
        )
        # "S": the tied matrix's G_in / G_out; "UV": an untied run's U and V gradients
        self.splits = {}
        if "S" in roles:
            self.splits["S"] = GradientSplit(self.buckets, tied=True)
        if "U" in roles:
            self.splits["UV"] = GradientSplit(self.buckets, tied=False)
        self.initial: dict[str, np.ndarray] = {}
        self.previous: dict[str, np.ndarray] = {}
        self.previous_step: int | None = None
        self.snapshot_bytes = 0
        self.snapshots_stopped = False
        self.jsonl = out / DYNAMICS
        self.snapshot_dir = out / "snapshots"
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        if resume_step:
            truncate_after(self.jsonl, resume_step)
            for file in self.snapshot_dir.glob("step-*.npz"):
                if int(file.stem.split("-")[1]) > resume_step:
                    file.unlink()
            self.snapshot_bytes = sum(f.stat().st_size for f in self.snapshot_dir.glob("step-*.npz"))
            self._load_previous()
        else:
            atomic_write_text(self.jsonl, "")
            (out / PREVIOUS).unlink(missing_ok=True)
        info = {
            **(meta or {}),
            "every": self.every,
            "grad_every": tcfg.grad_every,
            "roles": list(roles),
            "buckets": {"labels": self.buckets.labels, "sizes": self.buckets.sizes},
            "probe": {
                "benchmarks": self.probe.benchmarks,
                "pairs_used": self.probe.pairs_used,
                "pairs_total": self.probe.pairs_total,
            },
            "snapshot_words": [words[i] for i in self.snapshot_rows],
            "track_config": dataclasses.asdict(tcfg),
            "versions": package_versions(),
        }
        atomic_write_json(out / TRACK, {"schema": SCHEMA, **info}, indent=1)

    def grad_every(self, default: int) -> int:
        return grad_interval(self.tcfg, self.every, default)

    def start(self, mats: dict[str, np.ndarray]) -> None:
        self.initial = {m: a.copy() for m, a in mats.items()}

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def record(self, step: int, mats: dict[str, np.ndarray], extra: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        rec: dict[str, Any] = {"step": step, **extra}
        rec.update(
            compare_states(
                mats, self.previous, self.initial, self.buckets, self.probe, self.queries, self.tcfg.k,
                self.tcfg.geometry,
            )
        )  # fmt: skip
        rec["grad"] = {name: split.flush() for name, split in self.splits.items()}
        rec["record_seconds"] = time.perf_counter() - started
        self._write(step, rec, mats)
        self.previous = {m: a.copy() for m, a in mats.items()}
        self.previous_step = step
        return rec

    def keep_previous(self) -> None:
        """Save the last record's matrices beside a checkpoint, so that a resumed run can measure the update over
        the interval that spans the stop (cos(dS, dU), cos(dS, dV)). Best effort: a failed write only loses that."""
        if not self.previous:
            return
        try:
            atomic_write_npz(self.out / PREVIOUS, {"__step__": np.array(self.previous_step), **self.previous})
        except (OSError, WriteError):
            pass

    def _load_previous(self) -> None:
        path = self.out / PREVIOUS
        lines = self.jsonl.read_text(encoding="utf-8").splitlines() if self.jsonl.is_file() else []
        if not path.is_file() or not lines:
            return
        try:
            with np.load(path) as saved:
                arrays = {k: saved[k] for k in saved.files}
        except (OSError, ValueError):
            return
        step = int(arrays.pop("__step__"))
        if step == json.loads(lines[-1])["step"] and set(arrays) == set(self.roles):
            self.previous, self.previous_step = arrays, step

    def _write(self, step: int, rec: dict[str, Any], mats: dict[str, np.ndarray]) -> None:
        append_record(self.jsonl, rec)
        if self.snapshots_stopped:
            return
        arrays = {m: mats[m][self.snapshot_rows].astype(np.float16) for m in mats}
        size = sum(a.nbytes for a in arrays.values())
        if (self.snapshot_bytes + size) / 2**20 > self.tcfg.snapshot_budget_mb:
            self.snapshots_stopped = True  # the records go on; only the snapshots stop
            return
        atomic_write_npz(self.snapshot_dir / f"step-{step:09d}.npz", arrays)
        self.snapshot_bytes += size


def _disk_full(errno_: int | None, detail: str, out: Path, step: int) -> EmbedevalError:
    what = "the disk is full" if errno_ == errno.ENOSPC else f"a write failed ({detail})"
    return EmbedevalError(
        f"{what} at step {step}: stopped cleanly; the records and checkpoints written so far are kept. Free some "
        "space and continue with --resume",
        out,
    )


def prepare_out(out: str | Path, overwrite: bool, resume: bool, corpus: dict[str, Any] | None = None) -> OutputDir:
    """Claim the track folder (see :class:`embedeval.files.OutputDir`): an old pair it replaces is removed only
    when the new pair's trainers are built (their ``publish``), and never when it holds the corpus."""
    out = Path(out)
    if resume:
        if not (out / TRACK).is_file():
            raise EmbedevalError("nothing to resume: no track.json (start the pair without --resume)", out)
        return OutputDir(out, "track", exist_ok=True)
    files = (corpus or {}).get("files", {}).values()
    paths = [p for f in files for p in ([f] if isinstance(f, str) else f) if not p.startswith(("data:", "gensim:"))]
    return OutputDir(out, "track", overwrite, inputs=tuple(paths))


# --- LSTM language model ---------------------------------------------------------------------------


class GradTap:
    """A model's ``grad_hook`` on sampled steps: takes the input-side and output-side gradients of one step (dense,
    or per row as skip-gram reports them) into a :class:`GradientSplit`. With a ``split`` they are added as soon as
    both sides are in; without one they wait for :meth:`flush` after the step, which under DDP first averages them
    over the processes (what DistributedDataParallel does to the parameter's own gradient), so the split describes
    the gradient the optimizer used, not one process's share."""

    def __init__(self, split: GradientSplit | None = None):
        self.split = split
        self.pending: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}

    def __call__(self, role: str, grad: torch.Tensor, rows: torch.Tensor | None = None) -> None:
        # kept past the hook: autograd may reuse the tensor it passes once the hook returns
        self.pending[role] = (grad if self.split is not None else grad.detach().clone(), rows)
        if self.split is not None and len(self.pending) == 2:
            self._add(self.split)

    def flush(self, split: GradientSplit | None, world: Any) -> None:
        """Add a deferred step's gradients to ``split`` (None on the processes that do not record)."""
        if len(self.pending) < 2:
            return
        if world.distributed:
            import torch.distributed as dist

            for grad, rows in self.pending.values():
                if rows is not None:
                    raise EmbedevalError("internal: a row-wise gradient tap under DDP")
                dist.all_reduce(grad)
                grad /= world.size
        if split is None:
            self.pending = {}
        else:
            self._add(split)

    def _add(self, split: GradientSplit) -> None:
        (g_in, rows_in), (g_out, rows_out) = self.pending["input"], self.pending["output"]
        self.pending = {}
        if rows_in is None:
            split.add_dense(g_in, g_out)
        else:
            split.add_rows(rows_in, g_in, rows_out, g_out)


def _lm_mats(model: Any, tied: bool) -> dict[str, np.ndarray]:
    enc = model.input_embedding().detach().cpu().numpy()
    if tied:
        return {"S": enc}
    return {"U": enc, "V": model.output_embedding().detach().cpu().numpy()}


@dataclass
class PairKind:
    """Which trainer the lockstep loop and the single-run tracker drive, found through the registry
    (:mod:`embedeval.trainers`); everything else they ask the built trainer itself (``tracked_vocabulary()``,
    ``total_steps``, ``start_position()``, ``record_position()``), so the loop has no trainer-specific branch."""

    trainer: str  # its name in config.json
    make: Callable[..., Any]  # (cfg, data, run, resume, model_hook) -> a trainer with steps() / interrupt()
    grad_default: int = 4  # gradient split on every n-th step unless --grad-every


def _kind_of(cfg: Any) -> PairKind:
    return _kind(trainers.for_config(cfg).name)


def _kind(trainer: str) -> PairKind:
    cls = trainers.get(trainer).trainer_class()
    return PairKind(trainer, cls, getattr(cls, "GRAD_EVERY", 4))


def track(
    untied_cfg: Any,
    tied_cfg: Any,
    data: Any,
    out: str | Path,
    tcfg: TrackConfig | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress: Progress | None = None,
    corpus: dict[str, Any] | None = None,
    argv: list[str] | None = None,
) -> dict[str, Any]:
    """Train ``untied_cfg`` and ``tied_cfg`` (a tied config and the untied one it is the tied form of, of any
    registered family) on ``data`` in lockstep; record every ``tcfg.every`` steps into ``out``. ``data``: what the
    family trains on (LM data, translation data, or a corpus for skip-gram); ``corpus``: its description for
    ``track.json`` (by default ``data.describe()`` where it has one)."""
    tcfg = tcfg or TrackConfig()
    for cfg in (untied_cfg, tied_cfg):
        if hasattr(cfg, "validate"):
            cfg.validate()
    check_pair(untied_cfg, tied_cfg)
    kind = _kind_of(tied_cfg)
    family_check = getattr(kind.make, "check_tracked_pair", None)  # a family's own rule (NMT: tie decoder)
    if family_check is not None:
        family_check(untied_cfg, tied_cfg)
    if corpus is None and callable(getattr(data, "describe", None)):
        corpus = data.describe()
    with prepare_out(out, overwrite, resume, corpus) as claim:
        return _track_pair(kind, untied_cfg, tied_cfg, data, claim, tcfg, resume, progress, corpus, argv)


def _track_pair(kind, untied_cfg, tied_cfg, data, claim, tcfg, resume, progress, corpus, argv) -> dict[str, Any]:

    runs = {}
    for name, cfg in (("untied", untied_cfg), ("tied", tied_cfg)):
        run = RunDir(name, parent=claim) if resume else RunDir.inside(claim, name)
        if not resume:  # (on resume, each trainer checks its settings against config.json; it writes its inputs)
            run.write_config(cfg, kind.trainer, corpus or {}, argv or [])
        runs[name] = run
    initial: dict[str, dict[str, np.ndarray]] = {}

    def capture(name: str, tied: bool) -> Callable[[Any], None]:
        return lambda model: initial.__setitem__(name, {k: v.copy() for k, v in _lm_mats(model, tied).items()})

    untied = kind.make(untied_cfg, data, runs["untied"], resume, capture("untied", False))
    tied = kind.make(tied_cfg, data, runs["tied"], resume, capture("tied", True))
    if not np.array_equal(initial["untied"]["U"], initial["tied"]["S"]):
        raise EmbedevalError(
            "the tied and untied runs do not start from the same input embedding (their models draw their initial "
            "weights in a different order, e.g. one without an output bias), so their updates cannot be compared; "
            "track a pair whose two models start alike (LM: untied/wt or pr/wt+pr)"
        )
    out = claim.publish()

    def pair_mats() -> dict[str, np.ndarray]:
        return {**_lm_mats(tied.model, True), **_lm_mats(untied.model, False)}

    if untied.step != tied.step:
        raise EmbedevalError(
            f"the two runs stopped at different steps (untied {untied.step}, tied {tied.step}); start the pair again "
            "with --overwrite",
            out,
        )
    total = tied.total_steps
    meta = {"trainer": kind.trainer, "corpus": corpus, "untied": dataclasses.asdict(untied_cfg),
            "tied": dataclasses.asdict(tied_cfg), "total_steps": total}  # fmt: skip
    words, counts = tied.tracked_vocabulary()
    rec = Recorder(out, words, counts, tcfg, ("S", "U", "V"), total, tied.step, meta)
    rec.start({**initial["tied"], **initial["untied"]})
    grad_every = rec.grad_every(kind.grad_default)
    taps = {"tied": GradTap(rec.splits["S"]), "untied": GradTap(rec.splits["UV"])}
    gens = {"untied": untied.steps(), "tied": tied.steps(progress)}
    step = tied.step
    checkpointed_epoch = tied.epoch
    if step == 0:
        _safe_record(rec, out, 0, pair_mats(), tied.start_position())
    with StopOnSignal() as stop:
        while True:
            sampled = step % grad_every == 0
            untied.model.grad_hook = taps["untied"] if sampled else None
            tied.model.grad_hook = taps["tied"] if sampled else None
            s_untied = next(gens["untied"], None)
            s_tied = next(gens["tied"], None)
            if s_untied is None and s_tied is None:
                break
            step = s_tied or s_untied or step
            if tied.epoch != checkpointed_epoch:  # both trainers wrote their epoch checkpoint before this step
                checkpointed_epoch = tied.epoch
                rec.keep_previous()
            if rec.due(step):
                try:
                    _safe_record(rec, out, step, pair_mats(), tied.record_position(False))
                except EmbedevalError:
                    for trainer, reason in ((untied, "disk"), (tied, "disk")):
                        try:
                            trainer.interrupt(reason)
                        except (OSError, EmbedevalError):
                            pass
                    raise
            if stop.requested:
                untied.interrupt(stop.requested)
                tied.interrupt(stop.requested)
                rec.keep_previous()
                raise KeyboardInterrupt(
                    f"{stop.requested}: both runs checkpointed at step {step}; continue with --resume"
                )
    untied.model.grad_hook = tied.model.grad_hook = None
    if rec.previous_step != step:  # the final state is always a record, whatever --every was
        _safe_record(rec, out, step, pair_mats(), tied.record_position(True))
    rec.keep_previous()  # a finished pair can still be extended: --resume with more --epochs
    summary = {"steps": step, "every": rec.every, "untied": untied.summary, "tied": tied.summary}
    atomic_write_json(out / SUMMARY, {"schema": SCHEMA, **summary}, indent=1)
    return summary


def _safe_record(rec: Recorder, out: Path, step: int, mats: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
    try:
        rec.record(step, mats, extra)
    except OSError as err:
        raise _disk_full(err.errno, str(err.strerror or err), out, step) from None
    except WriteError as err:
        raise _disk_full(err.errno, err.message, out, step) from None


# --- a single run (embedeval train ... --track) ------------------------------------------------------


class RunTracker:
    """``--track`` for one run of any registered trainer (:class:`embedeval.train.base.StepHooks`): the gradient
    split of its U and V (or of its tied S), drift and probe scores, written to ``RUN_DIR/dynamics.jsonl``. Every
    process of a data-parallel job has one (they average the sampled gradients); only rank 0 records."""

    def __init__(self, trainer: str, run: RunDir, data: Any, cfg: Any, tied: bool, tcfg: TrackConfig | None = None):
        self.kind, self.run, self.cfg, self.tied = _kind(trainer), run, cfg, tied
        self.tcfg = tcfg or TrackConfig(geometry=False)
        self.tap = GradTap()  # deferred: flushed after each step
        self.initial: dict[str, np.ndarray] = {}
        self.rec: Recorder | None = None
        self.world: Any = None
        self.grad_every = 1
        self.checkpointed_epoch = 0

    def model_hook(self, model: Any) -> None:
        # the trainer calls this before a resume restores the weights: the initial state, as the run began
        self.initial = {k: v.copy() for k, v in _lm_mats(model, self.tied).items()}

    def on_start(self, trainer: Any) -> None:
        from embedeval.train import distributed

        self.world = getattr(trainer, "world", None) or distributed.World()
        total = trainer.total_steps
        self.grad_every = grad_interval(self.tcfg, record_interval(self.tcfg, total), self.kind.grad_default)
        self.checkpointed_epoch = trainer.epoch
        if self.world.main:
            words, counts = trainer.tracked_vocabulary()
            meta = {"trainer": self.kind.trainer, "single_run": True, "config": dataclasses.asdict(self.cfg)}
            if self.world.distributed:
                meta["processes"] = self.world.size
            roles = ("S",) if self.tied else ("U", "V")
            self.rec = Recorder(self.run.path, words, counts, self.tcfg, roles, total, trainer.step, meta)
            self.rec.start(self.initial)
            if trainer.step == 0:
                _safe_record(self.rec, self.run.path, 0, self.initial, trainer.start_position())
        self._gate(trainer)

    def on_step(self, trainer: Any, step: int) -> None:
        self.tap.flush(self.rec.splits["S" if self.tied else "UV"] if self.rec else None, self.world)
        if self.rec is not None:
            if trainer.epoch != self.checkpointed_epoch:  # the trainer wrote its epoch checkpoint before this step
                self.checkpointed_epoch = trainer.epoch
                self.rec.keep_previous()
            if self.rec.due(step):
                self._record(trainer, step, final=False)
        self._gate(trainer)

    def on_stop(self, trainer: Any) -> None:
        if self.rec is not None:
            self.rec.keep_previous()

    def on_end(self, trainer: Any) -> None:
        trainer.model.grad_hook = None
        if self.rec is not None:
            if self.rec.previous_step != trainer.step:  # the final state is always a record, whatever --every was
                self._record(trainer, trainer.step, final=True)
            self.rec.keep_previous()

    def _gate(self, trainer: Any) -> None:
        trainer.model.grad_hook = self.tap if trainer.step % self.grad_every == 0 else None

    def _record(self, trainer: Any, step: int, final: bool) -> None:
        assert self.rec is not None
        mats = _lm_mats(trainer.model, self.tied)
        _safe_record(self.rec, self.run.path, step, mats, trainer.record_position(final))


def run_tracker(trainer: str, run: RunDir, data: Any, cfg: Any, every: int = 0) -> RunTracker:
    """The hooks that make ``train_lm`` / ``train_nmt`` / ``train_skipgram`` record one run's dynamics
    (``--track``); every process of a data-parallel job makes one."""
    return RunTracker(trainer, run, data, cfg, cfg.tied, TrackConfig(every=every, geometry=False))
