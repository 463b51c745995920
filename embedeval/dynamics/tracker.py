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

from embedeval.data.registry import load_benchmarks
from embedeval.dynamics.buckets import frequency_buckets
from embedeval.dynamics.gradients import GradientSplit
from embedeval.dynamics.metrics import compare_states, knn_queries, pair_probe
from embedeval.dynamics.records import DYNAMICS, append_record, truncate_after
from embedeval.errors import EmbedevalError
from embedeval.files import OutputDir, WriteError, atomic_write_json, atomic_write_npz, atomic_write_text
from embedeval.layout import CHECKPOINT, PREVIOUS, SCHEMA, SUMMARY, TRACK, VOCAB
from embedeval.rundir import RunDir, package_versions
from embedeval.train.base import _Stop, load_checkpoint
from embedeval.train.lm import LMTrainer
from embedeval.train.skipgram import TorchSGNS

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


def check_pair(untied: Any, tied: Any, tie_fields: tuple[str, ...]) -> None:
    """Refuse a pair whose configs differ in anything but tying, naming the field."""
    a, b = dataclasses.asdict(untied), dataclasses.asdict(tied)
    for field in a:
        if field not in tie_fields and a[field] != b[field]:
            raise EmbedevalError(
                f"the untied and tied configs differ in {field!r} ({a[field]!r} vs {b[field]!r}); a tracked pair "
                "may differ only in tying"
            )
    for prop in ("projection", "output_bias", "augmented_loss"):
        if hasattr(untied, prop) and getattr(untied, prop) != getattr(tied, prop):
            raise EmbedevalError(
                f"the untied variant {untied.variant!r} and the tied variant {tied.variant!r} differ in {prop} as "
                "well as in tying; pair untied with wt, or pr with wt+pr"
            )
    if getattr(untied, "tied", getattr(untied, "tie", False)) or not getattr(tied, "tied", getattr(tied, "tie", True)):
        raise EmbedevalError("the first run of a pair must be untied and the second tied")


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


def prepare_out(out: str | Path, overwrite: bool, resume: bool) -> OutputDir:
    """Claim the track folder (see :class:`embedeval.files.OutputDir`): an old pair it replaces is removed only
    when the new pair's trainers are built (their ``publish``)."""
    out = Path(out)
    if resume:
        if not (out / TRACK).is_file():
            raise EmbedevalError("nothing to resume: no track.json (start the pair without --resume)", out)
        return OutputDir(out, "track", exist_ok=True)
    return OutputDir(out, "track", overwrite)


# --- LSTM language model ---------------------------------------------------------------------------


class _LMGradTap:
    """Collects the two sides' gradients of one model during backward, on sampled steps only."""

    def __init__(self, split: GradientSplit):
        self.split = split
        self.pending: dict[str, torch.Tensor] = {}

    def __call__(self, role: str, grad: torch.Tensor) -> None:
        self.pending[role] = grad
        if len(self.pending) == 2:
            self.split.add_dense(self.pending["input"], self.pending["output"])
            self.pending = {}


def _lm_mats(model: Any, tied: bool) -> dict[str, np.ndarray]:
    enc = model.input_embedding().detach().cpu().numpy()
    if tied:
        return {"S": enc}
    return {"U": enc, "V": model.output_embedding().detach().cpu().numpy()}


def _lm_where(trainer: Any, final: bool) -> dict[str, Any]:
    """A record's position fields for a language or translation model: the epoch as a fraction, and the lr."""
    if final:
        return {"epoch": float(trainer.epoch), "lr": trainer.lr()}
    return {"epoch": trainer.epoch + trainer.batch / trainer.n_batches, "lr": trainer.lr()}


@dataclass
class PairKind:
    """What the lockstep loop needs to know of a trainer (language model, translation model, torch SGNS): its name
    in config.json, how to build one, which vocabulary rows the records follow, how its gradient tap is made and
    how a record names its position. The loop itself has no trainer-specific branch."""

    trainer: str
    make: Callable[..., Any]  # (cfg, data, run, resume, model_hook) -> a trainer with steps() / interrupt()
    vocab: Callable[[Any], tuple[list[str], np.ndarray]]  # a built trainer -> (words, counts)
    write_inputs: Callable[[RunDir], None]  # what a fresh run folder holds before training (vocabulary, subwords)
    tap: Callable[[GradientSplit], Any] = lambda split: _LMGradTap(split)  # hung on model.grad_hook on sampled steps
    grad_default: int = 4  # gradient split on every n-th step unless --grad-every
    total_steps: Callable[[Any], int] = lambda trainer: trainer.total_steps
    where: Callable[[Any, bool], dict[str, Any]] = _lm_where  # (trainer, final) -> position fields of a record
    start: Callable[[Any], dict[str, Any]] = lambda trainer: {"epoch": 0}  # fields of the step-0 record


def _lm_kind(data: Any) -> PairKind:
    return PairKind(
        "lm", LMTrainer, lambda _: (data.vocab.words, data.vocab.counts), lambda run: data.vocab.save(run.path / VOCAB)
    )


def _sgns_kind() -> PairKind:
    def make(cfg: Any, corpus: Any, run: RunDir, resume: bool, model_hook: Callable[[Any], None]) -> TorchSGNS:
        trainer = TorchSGNS(cfg, corpus, run, resume=resume)
        model_hook(trainer.model)
        return trainer

    return PairKind(
        "skipgram",
        make,
        lambda trainer: (trainer.vocab.words, trainer.vocab.counts),
        lambda run: None,  # the trainer writes its vocabulary once it has counted the corpus
        tap=lambda split: _SGNSGradTap(split, 1),  # sampled by the loop, as for the others
        grad_default=25,
        total_steps=lambda trainer: trainer.expected_steps(),
        where=lambda trainer, final: {"epoch": trainer.epoch, "lr": trainer.lr},
        start=lambda trainer: {"epoch": 0, "lr": trainer.lr},
    )


def track_lm(
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
    """Train ``untied_cfg`` and ``tied_cfg`` on ``data`` in lockstep; record every ``tcfg.every`` steps."""

    tcfg = tcfg or TrackConfig()
    check_pair(untied_cfg, tied_cfg, ("variant",))
    with prepare_out(out, overwrite, resume) as claim:
        return _track_pair(_lm_kind(data), untied_cfg, tied_cfg, data, claim, tcfg, resume, progress, corpus, argv)


def track_nmt(
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
    """A translation pair (tie none vs decoder) in lockstep: the decoder's U and V against its tied S, recorded
    over the target pieces."""
    from embedeval.train.nmt import NMTTrainer, save_subwords, subword_vocab

    tcfg = tcfg or TrackConfig()
    check_pair(untied_cfg, tied_cfg, ("tie",))
    if tied_cfg.tie != "decoder":
        raise EmbedevalError("a tracked translation pair is tie none vs tie decoder (the decoder's U and V against S)")
    vocab = subword_vocab(data)
    kind = PairKind("nmt", NMTTrainer, lambda _: (vocab.words, vocab.counts), lambda run: save_subwords(data, run))
    with prepare_out(out, overwrite, resume) as claim:
        return _track_pair(kind, untied_cfg, tied_cfg, data, claim, tcfg, resume, progress, corpus, argv)


def _track_pair(kind, untied_cfg, tied_cfg, data, claim, tcfg, resume, progress, corpus, argv) -> dict[str, Any]:

    runs = {}
    for name, cfg in (("untied", untied_cfg), ("tied", tied_cfg)):
        run = RunDir(name, parent=claim) if resume else RunDir.inside(claim, name)
        if not resume:  # (on resume, each trainer checks its settings against config.json)
            kind.write_inputs(run)
            run.write_config(cfg, kind.trainer, corpus or {}, argv or [])
        runs[name] = run
    initial: dict[str, dict[str, np.ndarray]] = {}

    def capture(name: str, tied: bool) -> Callable[[Any], None]:
        return lambda model: initial.__setitem__(name, {k: v.copy() for k, v in _lm_mats(model, tied).items()})

    untied = kind.make(untied_cfg, data, runs["untied"], resume, capture("untied", False))
    tied = kind.make(tied_cfg, data, runs["tied"], resume, capture("tied", True))
    out = claim.publish()

    def pair_mats() -> dict[str, np.ndarray]:
        return {**_lm_mats(tied.model, True), **_lm_mats(untied.model, False)}

    if not np.array_equal(initial["untied"]["U"], initial["tied"]["S"]):
        raise EmbedevalError("internal: the tied and untied runs did not start from the same input embedding")
    if untied.step != tied.step:
        raise EmbedevalError(
            f"the two runs stopped at different steps (untied {untied.step}, tied {tied.step}); start the pair again "
            "with --overwrite",
            out,
        )
    total = kind.total_steps(tied)
    meta = {"trainer": kind.trainer, "corpus": corpus, "untied": dataclasses.asdict(untied_cfg),
            "tied": dataclasses.asdict(tied_cfg), "total_steps": total}  # fmt: skip
    words, counts = kind.vocab(tied)
    rec = Recorder(out, words, counts, tcfg, ("S", "U", "V"), total, tied.step, meta)
    rec.start({**initial["tied"], **initial["untied"]})
    grad_every = rec.grad_every(kind.grad_default)
    taps = {"tied": kind.tap(rec.splits["S"]), "untied": kind.tap(rec.splits["UV"])}
    gens = {"untied": untied.steps(), "tied": tied.steps(progress)}
    step = tied.step
    checkpointed_epoch = tied.epoch
    if step == 0:
        _safe_record(rec, out, 0, pair_mats(), kind.start(tied))
    with _Stop() as stop:
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
                    _safe_record(rec, out, step, pair_mats(), kind.where(tied, False))
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
        _safe_record(rec, out, step, pair_mats(), kind.where(tied, True))
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


# --- skip-gram ---------------------------------------------------------------------------------------


class _SGNSGradTap:
    """The torch SGNS ``on_grads`` hook, called on every ``every``-th step only."""

    def __init__(self, split: GradientSplit, every: int):
        self.split, self.every = split, every

    def __call__(self, step: int, rows_in, grad_in, rows_out, grad_out) -> None:
        self.split.add_rows(rows_in, grad_in, rows_out, grad_out)


def track_skipgram(
    cfg: Any,
    corpus: Any,
    out: str | Path,
    tcfg: TrackConfig | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    argv: list[str] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Torch SGNS untied and tied (``cfg`` with tie on and off) in lockstep over identical pairs."""
    tcfg = tcfg or TrackConfig()
    cfg.validate()
    if cfg.backend != "torch":
        raise EmbedevalError("tracking SGNS needs --backend torch (gensim cannot tie, nor expose its gradients)")
    untied_cfg, tied_cfg = dataclasses.replace(cfg, tie=False), dataclasses.replace(cfg, tie=True)
    check_pair(untied_cfg, tied_cfg, ("tie",))
    with prepare_out(out, overwrite, resume) as claim:
        return _track_pair(
            _sgns_kind(), untied_cfg, tied_cfg, corpus, claim, tcfg, resume, progress, corpus.describe(), argv
        )


# --- a single run (embedeval train ... --track) ------------------------------------------------------


def lm_run_tracker(
    run: RunDir, data: Any, cfg: Any, tcfg: TrackConfig | None = None, resume: bool = False
) -> tuple[Callable[[Any], None], Callable[[Any, int], None]]:
    """(model_hook, on_step) for ``train_lm``: gradient split, drift and scores of one run."""
    steps_per_epoch = (data.train.numel() // cfg.batch_size - 1) // cfg.bptt
    if cfg.max_batches:
        steps_per_epoch = min(steps_per_epoch, cfg.max_batches)
    return _run_tracker(run, "lm", cfg, data.vocab.words, data.vocab.counts, steps_per_epoch, tcfg, resume)


def nmt_run_tracker(
    run: RunDir, data: Any, cfg: Any, tcfg: TrackConfig | None = None, resume: bool = False
) -> tuple[Callable[[Any], None], Callable[[Any, int], None]]:
    """(model_hook, on_step) for ``train_nmt``: the decoder's gradient split, drift and scores."""
    from embedeval.train.nmt import make_batches, subword_vocab

    steps_per_epoch = len(make_batches(data.src["train"], data.tgt["train"], cfg))
    if cfg.max_batches:
        steps_per_epoch = min(steps_per_epoch, cfg.max_batches)
    vocab = subword_vocab(data)
    return _run_tracker(run, "nmt", cfg, vocab.words, vocab.counts, steps_per_epoch, tcfg, resume)


class _DeferredTap:
    """Keeps one step's input-side and output-side gradients until the step is over; under DDP they are then
    averaged over the processes (what DistributedDataParallel does to the parameter's own gradient), so the split
    describes the gradient the optimizer used, not one process's share."""

    def __init__(self) -> None:
        self.pending: dict[str, torch.Tensor] = {}

    def __call__(self, role: str, grad: torch.Tensor) -> None:
        self.pending[role] = grad.detach().clone()  # autograd may reuse the tensor it passes once the hook returns

    def take(self, world: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
        if len(self.pending) < 2:
            return None
        g_in, g_out = self.pending["input"], self.pending["output"]
        self.pending = {}
        if world.distributed:
            import torch.distributed as dist

            g_in, g_out = g_in.clone(), g_out.clone()
            for g in (g_in, g_out):
                dist.all_reduce(g)
                g /= world.size
        return g_in, g_out


def run_hooks(trainer: str, run: RunDir, data: Any, cfg: Any, every: int = 0, resume: bool = False) -> dict[str, Any]:
    """The keyword arguments that make ``train_lm`` / ``train_nmt`` record one run's dynamics (``--track``); every
    process of a data-parallel job calls it (they average the recorded gradients; rank 0 writes)."""
    make = lm_run_tracker if trainer == "lm" else nmt_run_tracker
    model_hook, on_step = make(run, data, cfg, TrackConfig(every=every, geometry=False), resume)
    return {"model_hook": model_hook, "on_step": on_step}


def _run_tracker(run, trainer, cfg, words, counts, steps_per_epoch, tcfg, resume):
    """(model_hook, on_step) for every process of a run; only rank 0 keeps a recorder and writes."""
    from embedeval.train import distributed

    tcfg = tcfg or TrackConfig(geometry=False)
    world = distributed.world()
    roles = ("S",) if cfg.tied else ("U", "V")
    total = cfg.epochs * steps_per_epoch
    grad_every = grad_interval(tcfg, record_interval(tcfg, total), 4)  # the same on every process
    tap = _DeferredTap()
    state: dict[str, Any] = {}

    def model_hook(model: Any) -> None:
        model.grad_hook = tap
        if not world.main:
            return
        mats = _lm_mats(model, cfg.tied)
        resume_step = 0
        if resume:
            ckpt = load_checkpoint(run.path / CHECKPOINT)  # epoch and batch: every trainer writes them
            resume_step = ckpt["epoch"] * steps_per_epoch + ckpt["batch"]
        meta = {"trainer": trainer, "single_run": True, "config": dataclasses.asdict(cfg)}
        if world.distributed:
            meta["processes"] = world.size
        rec = Recorder(run.path, words, counts, tcfg, roles, total, resume_step, meta)
        rec.start(mats)
        state["rec"] = rec
        if not resume:
            _safe_record(rec, run.path, 0, mats, {"epoch": 0})

    def on_step(model: Any, step: int) -> None:
        grads = tap.take(world)  # every process takes part in the averaging
        if world.main:
            rec = state["rec"]
            if grads is not None:
                rec.splits["S" if cfg.tied else "UV"].add_dense(*grads)
            if rec.due(step) or step == total:  # the final state is always a record
                _safe_record(rec, run.path, step, _lm_mats(model, cfg.tied), {"epoch": step / steps_per_epoch})
        model.grad_hook = tap if step % grad_every == 0 else None

    return model_hook, on_step


def sgns_run_tracker(run: RunDir, tcfg: TrackConfig | None = None) -> tuple[Any, Callable[[Any, int], None]]:
    """(on_grads, on_step) for the torch SGNS backend: gradient split, drift and scores of one run."""
    tcfg = tcfg or TrackConfig(geometry=False)
    state: dict[str, Any] = {}
    split_holder: dict[str, GradientSplit] = {}

    class Tap:
        every = 10**9  # nothing sampled until the recorder exists (after the first step)

        def __call__(self, step: int, rows_in, grad_in, rows_out, grad_out) -> None:
            if "split" in split_holder:
                split_holder["split"].add_rows(rows_in, grad_in, rows_out, grad_out)

    def mats(trainer: Any) -> dict[str, np.ndarray]:
        return _lm_mats(trainer.model, trainer.cfg.tie)

    def on_step(trainer: Any, step: int) -> None:
        if "rec" not in state:
            roles = ("S",) if trainer.cfg.tie else ("U", "V")
            meta = {"trainer": "skipgram", "single_run": True, "config": dataclasses.asdict(trainer.cfg)}
            rec = Recorder(run.path, trainer.vocab.words, trainer.vocab.counts, tcfg, roles,
                           trainer.expected_steps(), 0, meta)  # fmt: skip
            state["rec"] = rec
            split_holder["split"] = rec.splits["S" if trainer.cfg.tie else "UV"]
            tap.every = rec.grad_every(25)
            # the first call comes after step 1: close enough to the start for drift and scores
            rec.start(mats(trainer))
        rec = state["rec"]
        if rec.due(step):
            _safe_record(rec, run.path, step, mats(trainer), {"epoch": trainer.epoch, "lr": trainer.lr})

    tap = Tap()
    return tap, on_step
