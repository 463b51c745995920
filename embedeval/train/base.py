"""The contract every step-wise trainer keeps (the LSTM and Transformer language models, the translation model, the
torch skip-gram).

The dynamics tracker, the single-run tracker and the drivers (``train_lm``, ``train_nmt``, ``train_skipgram``) are
written against these protocols only, so a new model family is a model module, a trainer class and a registration, with no branch
elsewhere. ``tests/test_trainers.py`` holds every registered trainer to it: same seed same numbers, bit-exact resume
after an interrupt, the tie as one tensor, and the gradient tap that splits a tied matrix's gradient into its
input-side and output-side parts.
"""

from __future__ import annotations

import contextlib
import math
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from embedeval.errors import EmbedevalError
from embedeval.files import WriteError

# Called during a step with ("input" | "output", that side's gradient of the embedding): a dense matrix, or, from a
# trainer that updates rows sparsely (skip-gram), ``hook(role, grad, rows)`` where ``grad[i]`` belongs to row ``rows[i]``
# (rows may repeat). A tied matrix's two calls are its two parts, G_in and G_out, whose sum is its gradient.
GradHook = Callable[..., None]


def nll_to_ppl(mean_nll: float) -> float:
    """exp of a mean negative log-likelihood; ``inf`` instead of an OverflowError for a diverged model (the
    non-finite guards stop the run on it)."""
    return math.exp(mean_nll) if mean_nll < 700 else math.inf


def ppl_interval(
    blocks: list[tuple[float, int]], n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float] | None:
    """A percentile interval of perplexity from a bootstrap over blocks of the evaluated text ((summed NLL, tokens)
    per block, resampled with replacement, seeded): how much the number could move with other text of this size.
    None with fewer than 5 blocks."""
    import numpy as np

    if len(blocks) < 5:
        return None
    nll = np.array([b[0] for b in blocks], dtype=np.float64)
    tokens = np.array([b[1] for b in blocks], dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(blocks), size=(n_boot, len(blocks)))
    ppl = np.exp(np.minimum(nll[picks].sum(axis=1) / tokens[picks].sum(axis=1), 700.0))
    low, high = np.percentile(ppl, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(low), float(high)


def check_finite_epoch(
    record: dict[str, Any], run: Any, write: bool = True, keys: tuple[str, ...] = ("train_ppl", "valid_ppl")
) -> None:
    """Stop a run whose epoch ended with an infinite or NaN perplexity, before its checkpoint replaces the last
    good one (``write``: this process records why in the summary)."""
    bad = [f"{key} {record[key]}" for key in keys if key in record and not math.isfinite(record[key])]
    if bad:
        where = f"epoch {record.get('epoch', '?')}"
        if write:
            run.summary("incomplete", error=f"{', '.join(bad)} at the end of {where}")
        raise EmbedevalError(
            f"{', '.join(bad)} at the end of {where}: the model diverged; stopped, the last good checkpoint is kept "
            "(lower --lr or --clip)",
            run.path,
        )


def check_finite_loss(cost: torch.Tensor, trainer: Any, advice: str) -> None:
    """The guard every step-wise trainer runs before ``backward()``: a non-finite loss (on any process under DDP)
    stops the run before the step can poison the weights; the summary says where, the last epoch's checkpoint stays
    the good one. ``trainer`` has ``run``, ``epoch``, ``batch`` and (under DDP) ``world``."""
    from embedeval.train import distributed

    world = getattr(trainer, "world", None) or distributed.World()
    if not distributed.any_rank(not bool(torch.isfinite(cost)), world):
        return
    where = f"epoch {trainer.epoch + 1}, batch {trainer.batch}"
    if world.main:
        trainer.run.summary("incomplete", error=f"loss became {cost.item()} at {where}")
    raise EmbedevalError(
        f"loss became {cost.item()} at {where}: stopped; the last good checkpoint is kept ({advice})", trainer.run.path
    )


def update(trainer: Any, cost: torch.Tensor, clip: float, advice: str, set_lr: Callable[[], None]) -> None:
    """One optimizer step of a batch-walking trainer (the language and translation models): the non-finite guard,
    backward, gradient clipping, this step's learning rate, the step; then the trainer's step and batch counters
    move on. ``trainer`` has ``model``, ``optimizer``, ``step``, ``batch`` (and what :func:`check_finite_loss` needs)."""
    check_finite_loss(cost, trainer, advice)
    cost.backward()
    torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), clip)
    set_lr()
    trainer.optimizer.step()
    trainer.step += 1
    trainer.batch += 1


@runtime_checkable
class EpochTrainer(Protocol):
    """What :func:`batch_epochs` asks of a trainer (the language and translation trainers keep it; the check suite
    holds every registered trainer that walks batches to it)."""

    ADVICE: str  # what the non-finite guard suggests ("lower --lr or --clip")
    PROGRESS_EVERY: int  # batches between progress reports
    EMPTY_SUMS: tuple  # an epoch's sums before its first batch
    cfg: Any  # its config: epochs, clip
    run: Any  # the RunDir it writes
    world: Any  # distributed.World: rank, size, main
    model: Any
    optimizer: Any
    epoch: int  # 0-based, the epoch in progress
    batch: int  # the next batch of the epoch
    step: int  # optimizer steps taken over all epochs
    n_batches: int  # batches per epoch
    partial: tuple  # the epoch's sums before a resume
    history: list  # the finished epochs' records

    def start_epoch(self) -> None: ...

    def train_batch(self) -> tuple[Any, tuple]: ...

    def step_lr(self) -> None: ...

    def end_epoch(self, sums: tuple, tokens_at_start: int, elapsed: float) -> dict[str, Any] | None: ...

    def checkpoint(self) -> None: ...

    def finish(self) -> None: ...


def batch_epochs(trainer: EpochTrainer, progress: Callable[[dict[str, Any]], None] | None = None) -> Iterator[int]:
    """The epoch loop of the batch-walking trainers (language and translation models), yielding after each step.

    Per epoch: ``trainer.start_epoch()`` (learning rate, train mode, state, batch order); per batch
    ``trainer.train_batch()`` -> (cost, this process's additions to the epoch's sums), then :func:`update` (the
    non-finite guard, backward, clip, ``trainer.step_lr()``, step); after the last batch the sums over all
    processes go to ``trainer.end_epoch(sums, tokens_at_start, seconds)``, which returns the epoch's record (None on a
    process that keeps none) or raises to stop the run (a diverging run, an impossible perplexity) before the
    checkpoint replaces the last good one; then the checkpoint, then the record is logged (an epoch whose checkpoint
    failed is not logged); at the end ``trainer.finish()``. The sums end with the summed NLL and the target tokens
    (``trainer.EMPTY_SUMS`` is their zero); ``trainer.partial`` holds them mid-epoch for the checkpoint."""
    from embedeval.train import distributed

    while trainer.epoch < trainer.cfg.epochs:
        trainer.start_epoch()
        sums = tuple(trainer.partial) if trainer.batch else trainer.EMPTY_SUMS
        trainer.partial = trainer.EMPTY_SUMS
        started, tokens_at_start = time.perf_counter(), sums[-1]
        while trainer.batch < trainer.n_batches:
            trainer.optimizer.zero_grad(set_to_none=True)
            cost, added = trainer.train_batch()
            update(trainer, cost, trainer.cfg.clip, trainer.ADVICE, trainer.step_lr)
            sums = tuple(total + more for total, more in zip(sums, added))
            trainer.partial = sums
            if progress is not None and (
                trainer.batch % trainer.PROGRESS_EVERY == 1 or trainer.batch == trainer.n_batches
            ):
                seconds = max(time.perf_counter() - started, 1e-9)
                progress({"epoch": trainer.epoch + 1, "epochs": trainer.cfg.epochs, "batch": trainer.batch,
                          "batches": trainer.n_batches, "train_ppl": nll_to_ppl(sums[-2] / sums[-1]),
                          "tokens_per_s": (sums[-1] - tokens_at_start) / seconds})  # fmt: skip
            yield trainer.step
        elapsed = time.perf_counter() - started
        if trainer.world.distributed:  # the epoch over every process's share
            *summed, tokens_at_start = distributed.sum_over_ranks([*sums, tokens_at_start], trainer.world)
            sums = tuple(summed)
        record = trainer.end_epoch(sums, tokens_at_start, elapsed)
        if record is not None:
            trainer.history.append(record)
        trainer.epoch, trainer.batch, trainer.partial = trainer.epoch + 1, 0, trainer.EMPTY_SUMS
        trainer.checkpoint()
        if record is not None and trainer.world.main:
            trainer.run.log(record)
    trainer.finish()


def available_memory(device: str) -> int | None:
    """Bytes the process can still allocate on ``device`` (None where it cannot be told)."""
    if device == "cuda":
        try:
            return torch.cuda.mem_get_info()[0]
        except (RuntimeError, AssertionError):  # no usable GPU: the trainer's own device check says so
            return None
    from embedeval.files import memory_available

    return memory_available()


def check_logits_fit(rows: int, vocab: int, device: str, fix: str) -> None:
    """Refuse, before any work, a batch whose logits alone cannot be held: ``rows`` predictions x ``vocab`` scores,
    with their gradient (a lower bound of the step's memory, so nothing that fits is refused). ``fix`` names the
    flags that shrink it. Without this the allocator fails mid-step with a traceback, after the run folder was
    replaced."""
    need = 2 * rows * vocab * 4  # float32 logits and their gradient
    free = available_memory(device)
    if free is not None and need > free:
        raise EmbedevalError(
            f"one batch needs at least {need / 2**30:,.1f} GiB for its logits ({rows:,} predictions x {vocab:,} "
            f"words x 4 bytes, and their gradient) and this {device} has {free / 2**30:,.1f} GiB available: {fix}"
        )


@runtime_checkable
class EmbeddingModel(Protocol):
    """A model with an input embedding U and an output embedding V (the same tensor when tied), as Hugging Face's
    ``get_input_embeddings()`` / ``get_output_embeddings()``."""

    grad_hook: GradHook | None  # see GradHook

    def input_embedding(self) -> torch.Tensor: ...

    def output_embedding(self) -> torch.Tensor: ...

    def parameter_counts(self) -> dict[str, int]: ...


@runtime_checkable
class Trainer(Protocol):
    """One training run advanced step by step. Construct it with ``(cfg, data, run, resume, model_hook)``: the
    resume checks (settings against config.json, the checkpoint against the model) happen inside."""

    model: Any  # an EmbeddingModel
    step: int  # optimizer steps taken, over all epochs
    epoch: int  # 0-based epoch in progress
    total_steps: int  # over all epochs (skip-gram: an estimate, its pairs are random draws)
    summary: dict[str, Any] | None  # set when the last epoch is done

    def steps(self, progress: Callable[[dict[str, Any]], None] | None = None) -> Iterator[int]:
        """Yield after every optimizer step; checkpoint after every epoch; finish with ``summary``."""
        ...

    def lr(self) -> float: ...

    def checkpoint(self) -> None: ...

    def interrupt(self, reason: str) -> None:
        """Checkpoint where the run stands and mark it incomplete (continue with ``--resume``)."""
        ...


class StepHooks(Protocol):
    """What ``drive`` tells an observer of one run (the single-run dynamics tracker). ``model_hook`` is given to the
    trainer's constructor, which calls it once the model is built and before a resume restores its weights."""

    def model_hook(self, model: Any) -> None: ...

    def on_start(self, trainer: Any) -> None:
        """Before the first step (of this process: after a resume, the trainer stands where it stopped)."""

    def on_step(self, trainer: Any, step: int) -> None: ...

    def on_stop(self, trainer: Any) -> None:
        """The run was interrupted and has checkpointed."""

    def on_end(self, trainer: Any) -> None:
        """The last epoch is done."""


class StopOnSignal:
    """SIGINT/SIGTERM set a flag; the loop checkpoints at the next batch and exits cleanly."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignal:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def tapped(weight: torch.Tensor, role: str, hook: GradHook | None) -> torch.Tensor:
    """``weight`` as one side of the model sees it; with a hook, that side's gradient is reported: a non-leaf alias
    whose hook sees only this path's gradient, so a tied matrix's input-side and output-side parts come apart."""
    if hook is None or not torch.is_grad_enabled():
        return weight
    alias = weight.view_as(weight)
    alias.register_hook(lambda g: hook(role, g))
    return alias


def parameter_counts(module: torch.nn.Module) -> dict[str, int]:
    """Unique trainable parameters (a tied matrix once; a frozen tensor, such as the second LSTM bias of
    ``--lstm-bias tf``, not at all) and state_dict entries (a tied matrix under each of its names)."""
    unique = sum(p.numel() for p in module.parameters() if p.requires_grad)
    entries = sum(t.numel() for t in module.state_dict().values())
    return {"unique_parameters": unique, "state_dict_entries": entries}


def load_checkpoint(path: Path, required: Iterable[str] = ("model", "epoch", "batch")) -> dict[str, Any]:
    """A checkpoint's tensors and plain numbers, loaded with ``weights_only=True`` (never unpickling code), refused
    with a clear message when it is missing, empty, not ours, or lacks one of the ``required`` keys."""
    if not path.is_file():
        from embedeval.files import no_checkpoint_error

        raise no_checkpoint_error(path.parent)
    if path.stat().st_size == 0:
        raise EmbedevalError("the checkpoint is empty (0 bytes); start the run again with --overwrite", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        # the first line only: torch's own message goes on to suggest weights_only=False, which would run any
        # code a crafted file holds; embedeval never does that
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EmbedevalError(
            f"not a checkpoint embedeval can load safely ({first[:200]}); start the run again with --overwrite", path
        ) from None
    missing = [key for key in required if not isinstance(state, dict) or key not in state]
    if missing:
        raise EmbedevalError(
            f"the checkpoint lacks {', '.join(missing)} (damaged, or not written by embedeval); start the run again "
            "with --overwrite",
            path,
        )
    return state


@contextlib.contextmanager
def stop_when_disk_full() -> Iterator[None]:
    """Around a checkpoint's writes: a full disk stops the run with one line, and the checkpoint before is intact
    (every write is atomic)."""
    try:
        yield
    except WriteError as err:
        raise EmbedevalError(
            f"{err.message}: stopped; the last good checkpoint is kept. Free some space and continue with --resume",
            err.path,
        ) from None


def adamw(
    model: torch.nn.Module,
    embeddings: Iterable[torch.Tensor],
    lr: float,
    weight_decay: float,
    beta2: float,
    fused: bool = False,
) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only: never on the ``embeddings`` (tied or not: decaying a
    tied matrix would pull every side toward zero at once), biases or LayerNorms. ``fused``: PyTorch's one-pass
    kernel (on the CPU about a quarter of the per-tensor loop's time; equal to float32 rounding, not bit for bit)."""
    skip = {id(e) for e in embeddings}
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2 and id(p) not in skip]
    rest = [p for p in params if p.dim() < 2 or id(p) in skip]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, beta2), **({"fused": True} if fused else {}))


class Interruptible:
    """``interrupt()`` for a trainer that has ``checkpoint()``, ``run``, ``epoch``, ``batch`` and (under DDP) ``world``:
    every process checkpoints (they gather their state), rank 0 marks the run incomplete. Also what the dynamics
    tracker asks of a trainer that walks fixed batches (``n_batches``, ``lr()``): where a record sits."""

    GRAD_EVERY = 4  # the tracker splits the gradient on every n-th step unless told otherwise

    def record_position(self, final: bool) -> dict[str, Any]:
        """A record's position fields: the epoch as a fraction, and the lr."""
        if final:
            return {"epoch": float(self.epoch), "lr": self.lr()}  # type: ignore[attr-defined]
        return {"epoch": self.epoch + self.batch / self.n_batches, "lr": self.lr()}  # type: ignore[attr-defined]

    def start_position(self) -> dict[str, Any]:
        return {"epoch": 0}

    def interrupt(self, reason: str) -> None:
        """Checkpoint where the run stands and mark it incomplete (continue with ``--resume``)."""
        self.checkpoint()  # type: ignore[attr-defined]
        world = getattr(self, "world", None)
        if world is None or world.main:
            self.run.summary("incomplete", interrupted=reason, epoch=self.epoch + 1, batch=self.batch)  # type: ignore[attr-defined]


class OwnRandomState:
    """A trainer's own stream of random numbers (dropout masks) on torch's global generator, swapped in around each
    step and checkpoint: two trainers in one process (the tracker's lockstep pair) then draw exactly what each would
    draw alone, so a tracked run equals the same run trained by itself."""

    def __init__(self, device: str = "cpu"):
        self.cuda = device == "cuda"
        self.state = torch.get_rng_state()
        self.cuda_state = torch.cuda.get_rng_state() if self.cuda else None

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        outer = torch.get_rng_state()
        outer_cuda = torch.cuda.get_rng_state() if self.cuda else None
        torch.set_rng_state(self.state)
        if self.cuda:
            torch.cuda.set_rng_state(self.cuda_state)
        try:
            yield
        finally:
            self.state = torch.get_rng_state()
            torch.set_rng_state(outer)
            if self.cuda:
                self.cuda_state = torch.cuda.get_rng_state()
                torch.cuda.set_rng_state(outer_cuda)


def trainer_class(name: str) -> type:
    """The trainer class registered as ``name`` (config.json's "trainer"; see :mod:`embedeval.trainers`)."""
    from embedeval import trainers

    return trainers.get(name).trainer_class()


def train(
    cls: type,
    cfg: Any,
    data: Any,
    run: Any,
    resume: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    hooks: StepHooks | None = None,
) -> dict[str, Any]:
    """Build a trainer and drive it to the end (checkpoints each epoch and on a signal); return its summary."""
    from embedeval.train import distributed

    trainer = cls(cfg, data, run, resume, None if hooks is None else hooks.model_hook)
    world = getattr(trainer, "world", distributed.World())
    # under DDP every process stops at the same step, or the others would wait in an all-reduce forever
    return drive(trainer, progress, hooks, lambda requested: distributed.any_rank(requested, world))


def drive(
    trainer: Trainer,
    progress: Callable[[dict[str, Any]], None] | None = None,
    hooks: StepHooks | None = None,
    stop_everywhere: Callable[[bool], bool] = lambda requested: requested,
) -> dict[str, Any]:
    """Run ``trainer`` to the end; SIGINT/SIGTERM checkpoint it at the next step and raise KeyboardInterrupt.
    ``stop_everywhere`` lets data-parallel processes agree to stop at the same step."""
    if hooks is not None:
        hooks.on_start(trainer)
    with StopOnSignal() as stop:
        for step in trainer.steps(progress):
            if hooks is not None:
                hooks.on_step(trainer, step)
            if stop_everywhere(stop.requested is not None):
                trainer.interrupt(stop.requested or "SIGTERM")
                if hooks is not None:
                    hooks.on_stop(trainer)
                raise KeyboardInterrupt(f"{stop.requested or 'SIGTERM'}: checkpoint saved; continue with --resume")
    if hooks is not None:
        hooks.on_end(trainer)
    assert trainer.summary is not None
    return trainer.summary


def tie(module: torch.nn.Module, name: str, to: torch.nn.Parameter) -> None:
    """Make ``module.<name>`` the very Parameter ``to`` (as Hugging Face's ``tie_weights``): one tensor, initialised
    once, counted once by ``parameters()``, saved under both names and loaded back into one storage. Every tied model
    here ties through this one function."""
    own = getattr(module, name)
    if tuple(own.shape) != tuple(to.shape):
        raise ValueError(f"cannot tie {name} {tuple(own.shape)} to a {tuple(to.shape)} matrix")
    setattr(module, name, to)
