"""Training the LSTM language model: Zaremba's loop, every tying variant, safe checkpoints, U/V export.

The loop is the canonical one (embedding -> LSTM -> linear -> cross-entropy -> SGD with global-norm
clipping, state carried across batches), so its speed can be held against a plain PyTorch loop.
Checkpoints hold tensors and plain numbers only and load with ``weights_only=True``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from embedeval.data.corpus import EOS, UNK, Corpus, Vocab
from embedeval.embeddings.embedding import Embedding
from embedeval.errors import EmbedevalError
from embedeval.files import atomic_write, atomic_write_npz
from embedeval.layout import CHECKPOINT, EMBEDDINGS, LAST_GOOD, PROJECTION, VOCAB
from embedeval.rundir import RunDir
from embedeval.train import base, distributed
from embedeval.train.base import (
    Interruptible,
    OwnRandomState,
    StepHooks,
    check_finite_epoch,
    nll_to_ppl,
    ppl_interval,
    train,
)
from embedeval.train.lm_config import LMConfig, validate
from embedeval.train.lm_model import EmbeddingLM, build_model, strip_compile_prefix
from embedeval.train.memory import keep_freed_memory
from embedeval.trainers import model_name


@dataclass
class LMData:
    vocab: Vocab
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    held_out: str | None = None  # how valid/test were cut from a corpus that has only a training file
    mapped: dict[str, Any] | None = None  # read with another run's vocabulary: what that made <unk> (lm_data_for)


HELD_OUT_FRACTION = 0.05  # of the lines, for each of valid and test, when the corpus has one file


def split_lines(corpus: Corpus) -> tuple[dict[str, Callable[[], Iterable[list[str]]]], str | None]:
    """Line sources per split: the corpus's own files (streamed), or, for a single file, its last 10% of
    lines as valid (5%) and test (5%): perplexity on training text would say nothing about the model."""
    if "valid" in corpus.splits and "test" in corpus.splits:
        return {s: (lambda s=s: corpus.lines(s)) for s in ("train", "valid", "test")}, None
    sources, note = _held_out(corpus)
    return {s: (lambda lines=lines: lines) for s, lines in sources.items()}, note


def _held_out(corpus: Corpus) -> tuple[dict[str, list[list[str]]], str | None]:
    lines = list(corpus.lines("train"))
    k = max(1, round(len(lines) * HELD_OUT_FRACTION))
    if len(lines) < 3 * k or len(lines) < 3:
        return {"train": lines, "valid": lines, "test": lines}, (
            f"only {len(lines)} lines: valid and test perplexity are measured on the training text"
        )
    cut = len(lines) - 2 * k
    note = f"no valid/test files: the last {2 * k} of {len(lines)} lines are held out ({k} valid, {k} test)"
    return {"train": lines[:cut], "valid": lines[cut : cut + k], "test": lines[cut + k :]}, note


PLANTED = "<planted-{}>"


def load_lm_data(corpus: Corpus, vocab: Vocab | None = None, planted: int = 0) -> LMData:
    """Ids with ``<eos>`` after every line; the vocabulary comes from the training split, then ``planted`` tokens
    that never occur in it (``<planted-0>`` ...)."""
    sources, note = split_lines(corpus)
    if vocab is None:
        vocab = Vocab.build(sources["train"](), min_count=1, specials=(EOS,))
        if EOS not in vocab.index:
            vocab = Vocab([*vocab.words, EOS], np.r_[vocab.counts, 0])
        if UNK not in vocab.index:
            vocab = Vocab([*vocab.words, UNK], np.r_[vocab.counts, 0])
        extra = [PLANTED.format(i) for i in range(planted) if PLANTED.format(i) not in vocab.index]
        if extra:
            vocab = Vocab([*vocab.words, *extra], np.r_[vocab.counts, np.zeros(len(extra), dtype=vocab.counts.dtype)])
    splits = {}
    for split, lines in sources.items():
        ids = vocab.encode(lines(), eos=True, unk=UNK)
        splits[split] = torch.from_numpy(np.asarray(ids, dtype=np.int64))
    return LMData(vocab, splits["train"], splits["valid"], splits["test"], note)


_NUMBER = re.compile(r"\d[\d.,:/]*")


def ptb_style(tokens: list[str]) -> list[str]:
    """A line as Mikolov's PTB is written: lower case, every number N, tokens with no letter or digit (punctuation,
    WikiText's @-@) dropped."""
    out = []
    for token in tokens:
        token = token.lower()
        if not any(c.isalnum() for c in token):
            continue
        out.append("N" if _NUMBER.fullmatch(token) else token)
    return out


@dataclass
class _PTBStyle(Corpus):
    """A corpus read through :func:`ptb_style` (``--normalise ptb``)."""

    def lines(self, split: str = "train") -> Iterator[list[str]]:
        return (ptb_style(tokens) for tokens in super().lines(split))


def lm_data_for(cfg: LMConfig, corpus: Corpus) -> LMData:
    """The data a run of ``cfg`` trains on: the corpus with its own vocabulary, or, with ``cfg.vocab_from``, with
    that run's or corpus's (every other word read as <unk>: ``LMData.mapped`` says how many training tokens that
    made)."""
    if cfg.normalise == "ptb":
        corpus = _PTBStyle(**{f.name: getattr(corpus, f.name) for f in dataclasses.fields(corpus)})
    if not cfg.vocab_from:
        return load_lm_data(corpus, planted=cfg.planted_tokens)
    if cfg.planted_tokens:
        raise EmbedevalError("--vocab-from and --plant-tokens together: plant the tokens in the run whose vocabulary "
                             "is borrowed")  # fmt: skip
    vocab = vocabulary_of(cfg.vocab_from)
    if EOS not in vocab.index or UNK not in vocab.index:
        raise EmbedevalError(f"the vocabulary has no {EOS} or {UNK}: it is not a language model run's",
                             cfg.vocab_from)  # fmt: skip
    data = load_lm_data(corpus, vocab=vocab)
    own = load_lm_data(corpus).vocab  # the corpus's own words, to count what became <unk>
    already = int(own.counts[own.index[UNK]])  # <unk> written in the text itself (PTB and WikiText-2 have it)
    data.mapped = {
        "vocabulary_of": cfg.vocab_from,
        "normalised": cfg.normalise,
        "train_tokens": int(data.train.numel()),
        "train_tokens_now_unk": int((data.train == vocab.index[UNK]).sum()) - already,
        "corpus_words": len(own),
        "corpus_words_kept": sum(w in vocab.index for w in own.words),
    }
    return data


def vocabulary_of(source: str) -> Vocab:
    """The vocabulary of a run folder (its vocab.tsv), or of a corpus (a name such as ``ptb``, or a folder of
    train/valid/test files) as a run on it would build it."""
    from embedeval.data.corpus import resolve_corpus

    if (Path(source) / VOCAB).is_file():
        return Vocab.load(Path(source) / VOCAB)
    return load_lm_data(resolve_corpus(source)).vocab


def initial_weights(cfg: LMConfig, vocab: Vocab) -> dict[str, torch.Tensor]:
    """The final weights of the run ``cfg.init_from``, checked to be over ``vocab`` (its words, in its order)."""
    folder = Path(cfg.init_from)
    theirs = Vocab.load(folder / VOCAB)
    if theirs.words != vocab.words:
        raise EmbedevalError(f"--init-from: that run's vocabulary ({len(theirs):,} words) is not this run's "
                             f"({len(vocab):,}); give both the same vocabulary (--vocab-from the run it came from)",
                             folder)  # fmt: skip
    return load_checkpoint(folder / CHECKPOINT)["model"]


def load_initial_weights(model: EmbeddingLM, cfg: LMConfig, vocab: Vocab) -> None:
    """``model`` set to the final weights of the run ``cfg.init_from``: the same architecture, sizes and variant (an
    untied run's U and V cannot start one tied matrix), over the same vocabulary."""
    folder = Path(cfg.init_from)
    stored = RunDir(folder).stored_config()
    differ = [f"{key} {stored.get(key)!r} there, {getattr(cfg, key)!r} here"
              for key in ("arch", "variant", "hidden", "layers", "emb_size") if stored.get(key) != getattr(cfg, key)]  # fmt: skip
    if differ:
        raise EmbedevalError(f"--init-from: that run is another model ({'; '.join(differ)})", folder)
    try:
        model.load_state_dict(initial_weights(cfg, vocab))
    except RuntimeError as err:
        first = str(err).splitlines()[1].strip() if "\n" in str(err) else str(err)
        raise EmbedevalError(f"--init-from: that run's weights do not fit this model ({first})", folder) from None


def training_prefix(ids: torch.Tensor, fraction: float) -> torch.Tensor:
    """The first ``fraction`` of the training tokens (``--train-fraction``): a contiguous prefix, so the text keeps
    its order and its sentences; the vocabulary and the valid/test splits are the whole corpus's."""
    if fraction >= 1:
        return ids
    return ids[: max(1, round(fraction * ids.numel()))]


def trained_counts(folder: str | Path, data_dir: str | Path | None = None) -> np.ndarray:
    """How often each word of a finished LM run's vocabulary (vocab.tsv order) occurs in the text the run trained
    on. vocab.tsv keeps the whole training split's counts (the vocabulary's); a ``--train-fraction`` run saw only a
    prefix, so its counts are taken again from the corpus (which must be at hand: a data directory for ptb)."""
    from embedeval.data.corpus import resolve_corpus
    from embedeval.layout import CONFIG
    from embedeval.rundir import read_run_file

    folder = Path(folder)
    vocab = Vocab.load(folder / VOCAB)
    stored = read_run_file(folder / CONFIG, "config.json") or {}
    fraction = (stored.get("config") or {}).get("train_fraction") or 1.0
    if fraction >= 1:
        return np.asarray(vocab.counts, dtype=np.int64)
    name = (stored.get("corpus") or {}).get("name")
    if not name:
        raise EmbedevalError("config.json does not name the corpus the run trained on", folder / CONFIG)
    data = load_lm_data(resolve_corpus(name, data_dir), vocab=vocab)
    return np.bincount(training_prefix(data.train, fraction).numpy(), minlength=len(vocab)).astype(np.int64)


# training-count bands of the rare-word breakdown (docs/methods.md): a target word's count in the training tokens
FREQUENCY_BANDS = ((0, 0), (1, 9), (10, 99), (100, 999), (1_000, 9_999), (10_000, None))


def band_label(low: int, high: int | None) -> str:
    return f"{low:,}+" if high is None else (f"{low:,}" if low == high else f"{low:,}-{high:,}")


def perplexity_by_frequency(
    targets: np.ndarray, nll: np.ndarray, train_ids: torch.Tensor, vocab_size: int
) -> dict[str, dict[str, float | int]]:
    """Test perplexity of the target tokens in each training-count band: ``{band: {tokens, types, ppl}}`` (a band
    no test token falls in is left out). Rare words are where an untied V has least signal and tying most to give."""
    counts = np.bincount(train_ids.numpy(), minlength=vocab_size)[targets]
    out = {}
    for low, high in FREQUENCY_BANDS:
        mask = (counts >= low) & (counts <= (high if high is not None else np.iinfo(np.int64).max))
        if mask.any():
            out[band_label(low, high)] = {"tokens": int(mask.sum()), "types": int(np.unique(targets[mask]).size),
                                          "ppl": nll_to_ppl(float(nll[mask].mean()))}  # fmt: skip
    return out


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """(time, batch): the stream cut into ``batch_size`` contiguous columns."""
    steps = ids.numel() // batch_size
    return ids[: steps * batch_size].view(batch_size, steps).t().contiguous()


def detach(hidden: list) -> list:
    return [(h.detach(), c.detach()) for h, c in hidden]


def lm_cost(
    model: EmbeddingLM, cfg: LMConfig, x: torch.Tensor, y: torch.Tensor, hidden: list
) -> tuple[torch.Tensor, torch.Tensor, list]:
    """(cost to minimise, summed cross-entropy, new hidden). Cost = CE summed over time / batch (+ terms)."""
    scale = x.size(1) if cfg.loss == "sum-over-time" else y.numel()
    own = model.training_nll(x, y, hidden)  # a model with its own cost (a biLM's two directions)
    if own is not None:
        train_sum, report_sum, hidden = own
        return train_sum / scale, report_sum, hidden
    features, hidden = model.features(x, hidden)
    if cfg.augmented_loss:
        # the augmented loss needs the bias-free logits too: one output matmul serves both (it is the costliest op)
        raw = model.logits(features, bias=False)
        logits = raw if model.decoder.bias is None else raw + model.decoder.bias
        ce_sum = F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1), reduction="sum")
    else:
        ce_sum = model.cross_entropy(features, y, cfg.loss_chunk, cfg.loss_kernel)
    # Zaremba's cost (summed over the bptt steps, averaged over the batch) or the per-token mean (Transformers); every
    # added term is put on the same scale
    cost = ce_sum / scale
    if cfg.augmented_loss:
        # Inan et al.: KL(y~ || softmax(W h / tau)), y~ = softmax(U[target] U^T / tau), bias-free logits
        tau = cfg.al_tau
        emb = model.encoder.weight
        target = F.softmax(F.embedding(y, emb) @ emb.t() / tau, dim=-1)
        if not cfg.al_target_grad:
            target = target.detach()
        log_pred = F.log_softmax(raw / tau, dim=-1)
        kl = F.kl_div(log_pred.view(-1, log_pred.size(-1)), target.view(-1, target.size(-1)), reduction="sum")
        cost = cost + cfg.al_gamma * tau * kl / scale
    if model.projection is not None:
        # P&W code: 0.5 * ||P||_F^2 / (6.5 * batch) added to the per-sequence summed cost. The global batch: under
        # DDP every process adds the same penalty and the gradients are averaged, so it must not grow with N
        per = cfg.batch_size if cfg.loss == "sum-over-time" else cfg.batch_size * cfg.bptt  # the cost's own scale
        cost = cost + cfg.pr_lambda * 0.5 * model.projection.weight.pow(2).sum() / per
    return cost, ce_sum.detach(), hidden


@torch.no_grad()
def evaluate_perplexity(
    model: EmbeddingLM,
    ids: torch.Tensor,
    cfg: LMConfig,
    batch_size: int | None = None,
    blocks: list[tuple[float, int]] | None = None,
    tokens: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> float:
    """Perplexity with the hidden state carried over the whole split (batch 1 by default); ``blocks`` collects each
    chunk's (summed negative log-likelihood, tokens) for an interval (:func:`embedeval.train.base.ppl_interval`),
    ``tokens`` each chunk's (target ids, per-token negative log-likelihood)."""
    model.eval()
    if cfg.max_eval_tokens:
        ids = ids[: cfg.max_eval_tokens + 1]
    data = batchify(ids, batch_size or cfg.eval_batch_size).to(cfg.device)
    hidden = model.init_hidden(data.size(1))
    total, count = 0.0, 0
    # the LSTM carries its state, so longer chunks only save time; a Transformer sees one context window at a time
    context = getattr(model, "context", None)
    step = context or max(cfg.bptt, 100)
    for start in range(0, data.size(0) - 1, step):
        x = data[start : start + step]
        y = data[start + 1 : start + 1 + x.size(0)]
        x = x[: y.size(0)]
        logits, hidden = model(x, hidden)
        per_token = F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1), reduction="none")
        nll = per_token.sum().item()
        if tokens is not None:
            tokens.append((y.reshape(-1).cpu().numpy(), per_token.double().cpu().numpy()))
        total += nll
        count += y.numel()
        if blocks is not None:
            blocks.append((nll, y.numel()))
    model.train()
    return nll_to_ppl(total / max(count, 1))


def learning_rate(cfg: LMConfig, epoch: int) -> float:
    """Zaremba's schedule, as in his code and P&W's: ``lr * lr_decay ** max(epoch - max_epoch, 0)`` for the
    0-based epoch, so max_epoch = 4 (small) keeps the full lr for 5 epochs and halves it from the 6th."""
    return cfg.lr * cfg.lr_decay ** max(epoch - cfg.max_epoch, 0)


def cosine_learning_rate(cfg: LMConfig, step: int, total_steps: int) -> float:
    """Linear warm-up over ``cfg.warmup`` steps, then cosine decay to ``lr * min_lr_ratio`` at the last step.
    ``step`` is the 0-based index of the update about to be made."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = min(max((step - cfg.warmup) / max(total_steps - cfg.warmup, 1), 0.0), 1.0)
    return cfg.lr * (cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def make_optimizer(model: EmbeddingLM, cfg: LMConfig) -> torch.optim.Optimizer:
    """SGD (Zaremba), or AdamW with weight decay on the weight matrices only: never on the word embeddings U and V
    (tied or not: decaying a tied matrix would pull both sides toward zero at once), biases or LayerNorms."""
    if cfg.optimizer == "sgd":
        own = list(model.projection.parameters()) if model.projection is not None and cfg.pr_lr_scale != 1 else []
        if not own:
            return torch.optim.SGD(model.parameters(), lr=cfg.lr)
        skip = {id(p) for p in own}
        rest = [p for p in model.parameters() if id(p) not in skip]
        groups = [{"params": rest}, {"params": own, "lr_scale": cfg.pr_lr_scale}]
        return torch.optim.SGD(groups, lr=cfg.lr)
    embeddings = (model.input_embedding(), model.output_embedding())
    return base.adamw(model, embeddings, cfg.lr, cfg.weight_decay, cfg.beta2, fused=cfg.optimizer_kernel == 2)


def save_checkpoint(
    path: Path,
    model: EmbeddingLM,
    epoch: int,
    batch: int,
    hidden: list | None,
    vocab_size: int,
    history: list,
    partial: tuple[float, int] = (0.0, 0),
    optimizer: torch.optim.Optimizer | None = None,
    rngs: list[torch.Tensor] | None = None,
) -> None:
    state = {
        "model": {k: v.detach().cpu() for k, v in strip_compile_prefix(model.state_dict()).items()},
        "epoch": epoch,
        "batch": batch,
        "hidden": [t.detach().cpu() for pair in hidden for t in pair] if hidden is not None else [],
        "torch_rng": torch.get_rng_state(),
        "vocab_size": vocab_size,
        "history": history,
        # summed cross-entropy and tokens of the epoch so far: a resumed epoch reports its whole train ppl
        "epoch_ce": float(partial[0]),
        "epoch_tokens": int(partial[1]),
    }
    if isinstance(optimizer, torch.optim.AdamW):  # its moments are part of the state a resume must restore
        state["optimizer"] = optimizer.state_dict()
    if rngs is not None:  # under DDP: every process's random state, in rank order
        state["torch_rngs"] = rngs
    atomic_write(path, lambda tmp: torch.save(state, tmp))


CHECKPOINT_KEYS = ("model", "epoch", "batch", "hidden", "torch_rng", "vocab_size", "history")


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A language model's checkpoint (see :func:`embedeval.train.base.load_checkpoint`)."""
    return base.load_checkpoint(path, CHECKPOINT_KEYS)


# No word-level language model comes near this on a 10k+ word vocabulary (PTB, WikiText-2): a perplexity below it
# means the model saw the words it predicts, i.e. a leaking attention mask or a shifted target.
IMPOSSIBLE_PERPLEXITY = 20.0


def _refuse_impossible_perplexity(valid_ppl: float, vocab_size: int, run: RunDir) -> None:
    if vocab_size >= 10_000 and valid_ppl < IMPOSSIBLE_PERPLEXITY:
        raise EmbedevalError(
            f"validation perplexity {valid_ppl:.2f} on a {vocab_size:,}-word vocabulary is below "
            f"{IMPOSSIBLE_PERPLEXITY:g}: the model must be seeing the words it predicts (a causality bug); stopped",
            run.path,
        )


def rose(history: list[dict[str, Any]]) -> bool:
    """Training and validation perplexity both rose in the last epoch (the first step of a divergence)."""
    if len(history) < 2:
        return False
    a, b = history[-2:]
    return a["valid_ppl"] < b["valid_ppl"] and a["train_ppl"] < b["train_ppl"]


def _run_files(folder: Path) -> list[Path]:
    """The files a run's state is: its checkpoint, embeddings and projection (paths relative to ``folder``)."""
    files = [Path(CHECKPOINT), Path(PROJECTION)]
    if (folder / EMBEDDINGS).is_dir():
        files += [Path(EMBEDDINGS) / p.name for p in sorted((folder / EMBEDDINGS).glob("*.npz"))]
    return [f for f in files if (folder / f).is_file()]


def keep_last_good(run_path: Path) -> None:
    """Copy the checkpoint and embeddings on disk (the epoch before a rise) aside into ``last-good/``."""
    side = run_path / LAST_GOOD
    shutil.rmtree(side, ignore_errors=True)
    staging = run_path / f".{LAST_GOOD}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    for rel in _run_files(run_path):
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run_path / rel, staging / rel)
    os.replace(staging, side)  # all or nothing: a crash mid-copy leaves no half-filled last-good/


def restore_last_good(run_path: Path) -> None:
    """Put the copies of ``last-good/`` back in place of the diverged epoch's files."""
    side = run_path / LAST_GOOD
    if not side.is_dir():
        return
    for rel in _run_files(side):
        os.replace(side / rel, run_path / rel)
    shutil.rmtree(side, ignore_errors=True)


def diverging(history: list[dict[str, Any]]) -> bool:
    """Training *and* validation perplexity rose in each of the last two epochs: the run is coming apart. (Valid
    rising alone is overfitting, which a run without dropout shows for its last epochs and must be allowed.)"""
    return len(history) >= 3 and rose(history[:-1]) and rose(history)


class _Cost(torch.nn.Module):
    """The training cost as a module's forward, so DistributedDataParallel can wrap it (DDP averages the gradients
    of whatever its forward computed)."""

    def __init__(self, model: EmbeddingLM, cfg: LMConfig):
        super().__init__()
        self.model, self.cfg = model, cfg

    def forward(self, x: torch.Tensor, y: torch.Tensor, hidden: list) -> tuple[torch.Tensor, torch.Tensor, list]:
        return lm_cost(self.model, self.cfg, x, y, hidden)


class LMTrainer(Interruptible):
    """One training run, step by step: ``steps()`` yields after every optimizer step.

    ``train_lm`` drains it; the dynamics tracker advances two trainers in lockstep so that a tied and an
    untied run see the same batches in the same order. ``interrupt()`` checkpoints the current position.
    """

    def __init__(
        self,
        cfg: LMConfig,
        data: LMData,
        run: RunDir,
        resume: bool = False,
        model_hook: Callable[[EmbeddingLM], None] | None = None,
    ) -> None:
        validate(cfg)
        if resume:  # a run from before the fused loss or a second kernel (loss, dropout, AdamW) keeps its arithmetic
            stored = run.stored_config()
            if "loss_chunk" not in stored:
                cfg = dataclasses.replace(cfg, loss_chunk=0)
            elif "loss_kernel" not in stored:
                cfg = dataclasses.replace(cfg, loss_kernel=1)
            if "dropout_kernel" not in stored:
                cfg = dataclasses.replace(cfg, dropout_kernel=1)
            if "optimizer_kernel" not in stored:
                cfg = dataclasses.replace(cfg, optimizer_kernel=1)
        self.cfg, self.data, self.run = cfg, data, run
        keep_freed_memory()  # each step's arrays reused without page faults (embedeval.train.memory)
        self.world = distributed.world()  # rank 0 of 1 outside torchrun; only rank 0 writes files
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        missing = [PLANTED.format(i) for i in range(cfg.planted_tokens) if PLANTED.format(i) not in data.vocab.index]
        if missing:
            raise EmbedevalError(f"the config plants {cfg.planted_tokens} tokens but the vocabulary lacks {len(missing)} "
                                 "of them: load the data with load_lm_data(corpus, planted=cfg.planted_tokens)")  # fmt: skip
        self.train_ids = training_prefix(data.train, cfg.train_fraction)
        self.train = batchify(self.train_ids, cfg.batch_size).to(cfg.device)
        if self.train.size(0) < cfg.bptt + 1:
            raise EmbedevalError(
                f"the training split has {self.train_ids.numel()} tokens: shorter than one batch "
                f"({cfg.batch_size} x {cfg.bptt + 1}); use a longer corpus or smaller --batch-size/--bptt"
            )
        self.train = distributed.shard_columns(self.train, self.world)
        base.check_logits_fit(
            max(self.train.size(1), cfg.eval_batch_size) * cfg.bptt, len(data.vocab), cfg.device,
            "use a smaller --batch-size or --bptt (or --eval-batch-size)",
        )  # fmt: skip
        self.model = model = build_model(len(data.vocab), cfg).to(cfg.device)  # tied here, before any wrapping
        if cfg.init_from and not resume:  # before the wrapping too: DDP spreads rank 0's weights
            load_initial_weights(model, cfg, data.vocab)
        self.cost = _Cost(model, cfg)
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            self.cost = DistributedDataParallel(self.cost)  # broadcasts rank 0's initial weights to every rank
        if self.world.main:
            run.publish()  # inputs are good and the model is built: now the run may replace an old one
            if not resume:
                run.ensure_config(cfg, "lm")
                if not (run.path / VOCAB).exists():  # a run started from Python: the same folder as the CLI's
                    data.vocab.save(run.path / VOCAB)
        if model_hook is not None:
            model_hook(model)
        self.epoch, self.batch, self.hidden, self.history = 0, 0, None, []
        self.partial = (0.0, 0)  # cross-entropy and tokens of the current epoch before a resume
        self.optimizer = make_optimizer(model, cfg)
        if resume:
            run.check_resume_config(cfg, unused=cfg.unused_fields())  # here, not in the CLI: Python callers too
            self._restore()
        self.random = OwnRandomState(cfg.device)  # from here on, dropout draws from this run's own stream
        self.counts = model.parameter_counts()
        if self.world.main:
            mapped = {"vocabulary_mapped": data.mapped} if data.mapped else {}
            run.summary("incomplete", **self.counts, config=dataclasses.asdict(cfg), **mapped)
        self.n_batches = (self.train.size(0) - 1) // cfg.bptt
        if cfg.max_batches:
            self.n_batches = min(self.n_batches, cfg.max_batches)
        self.step = self.epoch * self.n_batches + self.batch
        self.total_steps = cfg.epochs * self.n_batches
        self.summary: dict[str, Any] | None = None

    def _restore(self) -> None:
        state = load_checkpoint(self.ckpt_path)
        if state["vocab_size"] != len(self.data.vocab):
            raise EmbedevalError(
                f"vocabulary mismatch on --resume: the checkpoint has {state['vocab_size']} words, the corpus gives "
                f"{len(self.data.vocab)}; resume with the same corpus",
                self.ckpt_path,
            )
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as err:
            first = str(err).splitlines()[1].strip() if "\n" in str(err) else str(err)
            raise EmbedevalError(
                f"the checkpoint does not fit this model ({first}); it was written by another config, variant or "
                "embedeval version: resume with the same settings, or start again with --overwrite",
                self.ckpt_path,
            ) from None
        rngs = state.get("torch_rngs") or [state["torch_rng"]]
        try:
            # each process's own random state when the process count is unchanged (dropout masks), else rank 0's
            torch.set_rng_state(rngs[self.world.rank] if len(rngs) == self.world.size else state["torch_rng"])
        except (TypeError, RuntimeError):
            raise EmbedevalError(
                "the checkpoint's random state is damaged; start the run again with --overwrite", self.ckpt_path
            ) from None
        if "optimizer" in state:
            try:
                self.optimizer.load_state_dict(state["optimizer"])
            except (ValueError, KeyError, RuntimeError):
                raise EmbedevalError(
                    "the checkpoint's optimizer state does not fit this model; start again with --overwrite",
                    self.ckpt_path,
                ) from None
        self.epoch, self.batch, self.history = state["epoch"], state["batch"], state["history"]
        if self.batch and self.world.main:  # the epoch so far over all columns: counted once, by rank 0
            self.partial = (float(state.get("epoch_ce", 0.0)), int(state.get("epoch_tokens", 0)))
        if state["hidden"]:  # the state of every column: this process takes its own block
            flat = [distributed.shard_columns(t, self.world).to(self.cfg.device) for t in state["hidden"]]
            self.hidden = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    @property
    def ckpt_path(self) -> Path:
        return self.run.path / CHECKPOINT  # the run's folder moves once, from staging into place (publish)

    def tracked_vocabulary(self) -> tuple[list[str], Any]:
        """The rows the dynamics records follow, with their training counts."""
        return self.data.vocab.words, self.data.vocab.counts

    def lr(self) -> float:
        if self.cfg.schedule == "cosine":
            return cosine_learning_rate(self.cfg, self.step, self.total_steps)
        return learning_rate(self.cfg, self.epoch)

    def _apply_lr(self) -> None:
        """This step's learning rate on every parameter group (the projection's scaled by ``--pr-lr-scale``)."""
        lr = self.lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)

    ADVICE = "lower --lr or --clip"  # what the non-finite guard suggests
    PROGRESS_EVERY = 50  # batches between progress reports
    EMPTY_SUMS = (0.0, 0)  # an epoch's summed cross-entropy and tokens

    def steps(self, progress: Callable[[dict[str, Any]], None] | None = None) -> Iterator[int]:
        return base.batch_epochs(self, progress)

    def start_epoch(self) -> None:
        self._apply_lr()
        self.model.train()
        if self.hidden is None or self.batch == 0:
            self.hidden = self.model.init_hidden(self.train.size(1))  # this process's columns

    def step_lr(self) -> None:
        if self.cfg.schedule == "cosine":  # per step; Zaremba's schedule moves once an epoch (start_epoch)
            self._apply_lr()

    def train_batch(self) -> tuple[torch.Tensor, tuple[float, int]]:
        i = self.batch * self.cfg.bptt
        x, y = self.train[i : i + self.cfg.bptt], self.train[i + 1 : i + 1 + self.cfg.bptt]
        self.hidden = detach(self.hidden)
        with self.random.active():
            cost, ce_sum, self.hidden = self.cost(x, y, self.hidden)
        return cost, (ce_sum.item(), y.numel())  # this process's columns: summed over the processes for the record

    def end_epoch(self, sums: tuple[float, int], tokens_at_start: int, elapsed: float) -> dict[str, Any]:
        cfg, model, run = self.cfg, self.model, self.run
        ce_total, tokens = sums
        record = {
            "epoch": self.epoch + 1,
            "lr": self.optimizer.param_groups[0]["lr"],  # the last step's (cosine changes it every step)
            "train_ppl": nll_to_ppl(ce_total / max(tokens, 1)),
            "valid_ppl": evaluate_perplexity(model, self.data.valid, cfg),
            "tokens_per_s": (tokens - tokens_at_start) / max(elapsed, 1e-9),
            "seconds": elapsed,
            "step": self.step,
        }
        check_finite_epoch(record, run, write=self.world.main)
        _refuse_impossible_perplexity(record["valid_ppl"], len(self.data.vocab), run)
        if diverging([*self.history, record]):
            kept = self.history[-2]["epoch"]  # the last epoch before the two rises
            if self.world.main:
                restore_last_good(run.path)
            last = [*self.history[-2:], record]
            train = ", ".join(f"{r['train_ppl']:.1f}" for r in last)
            valid = ", ".join(f"{r['valid_ppl']:.1f}" for r in last)
            message = (
                f"diverging: training and validation perplexity rose for two epochs in a row (train {train}; "
                f"valid {valid}): stopped; the checkpoint and embeddings of epoch {kept}, the last before the "
                "rise, are kept (lower --lr, or check the variant's settings)"
            )
            if self.world.main:
                run.summary("incomplete", error=message)
            raise EmbedevalError(message, run.path)
        if self.world.main:  # before the checkpoint replaces the epoch that may be the last good one
            if rose([*self.history, record]):
                keep_last_good(run.path)
            else:
                shutil.rmtree(run.path / LAST_GOOD, ignore_errors=True)
        self.hidden = None  # the next epoch starts from a fresh state
        return record

    def finish(self) -> None:
        cfg, model, run = self.cfg, self.model, self.run
        test_blocks: list[tuple[float, int]] = []
        test_tokens: list[tuple[np.ndarray, np.ndarray]] = []
        self.summary = {
            "valid_ppl": self.history[-1]["valid_ppl"]
            if self.history
            else evaluate_perplexity(model, self.data.valid, cfg),
            "test_ppl": evaluate_perplexity(model, self.data.test, cfg, blocks=test_blocks, tokens=test_tokens),
            # the final model on its own training text (the running average of the last epoch is train_ppl in
            # metrics.jsonl): P&W's and Zaremba's tables quote a training perplexity, and this is the like-for-like one
            "train_ppl_final": evaluate_perplexity(model, self.train_ids, cfg, batch_size=cfg.batch_size),
            "train_tokens": int(self.train_ids.numel()),
            "epochs": cfg.epochs,
            **self.counts,
        }
        if test_tokens:
            targets = np.concatenate([t for t, _ in test_tokens])
            nll = np.concatenate([n for _, n in test_tokens])
            self.summary["test_ppl_by_frequency"] = perplexity_by_frequency(
                targets, nll, self.train_ids, len(self.data.vocab)
            )
        interval = ppl_interval(test_blocks)
        if interval is not None:
            self.summary["test_ppl_ci"] = list(interval)
        window = max(cfg.bptt, 100)
        directions = {  # a model reading in more than one direction (a biLM): each one's perplexity
            split: model.direction_perplexities(ids, window, cfg.max_eval_tokens)
            for split, ids in (("valid", self.data.valid), ("test", self.data.test))
        }
        if all(directions.values()):
            self.summary["direction_ppl"] = directions
        if self.data.held_out:
            self.summary["held_out"] = self.data.held_out
        if self.world.distributed:
            self.summary["processes"] = self.world.size
        if self.world.main:
            run.summary("complete", **self.summary)

    def checkpoint(self) -> None:
        """Every process calls this (the LSTM state and random states are gathered); rank 0 writes."""
        with self.random.active():  # the checkpoint holds this run's random state
            self._checkpoint()

    def _checkpoint(self) -> None:
        hidden = self.hidden
        if self.world.distributed:
            flat = distributed.gather_columns([t for pair in hidden for t in pair] if hidden else [], self.world)
            hidden = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)] if hidden else None
        rngs = distributed.gather_rng_states(self.world)
        partial = tuple(distributed.sum_over_ranks(list(self.partial), self.world))  # the epoch so far, all columns
        if not self.world.main:
            return
        with base.stop_when_disk_full():
            self._write_checkpoint(hidden, rngs, partial)

    def _write_checkpoint(self, hidden: list | None, rngs: list[torch.Tensor], partial: tuple) -> None:
        save_checkpoint(
            self.ckpt_path,
            self.model,
            self.epoch,
            self.batch,
            hidden,
            len(self.data.vocab),
            self.history,
            partial,
            self.optimizer,
            rngs if len(rngs) > 1 else None,
        )
        export_embeddings(self.model, self.data.vocab, self.run, self.cfg)


def train_lm(
    cfg: LMConfig,
    data: LMData,
    run: RunDir,
    resume: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    hooks: StepHooks | None = None,
) -> dict[str, Any]:
    """Train, checkpoint each epoch (and on a signal), export embeddings, return the summary."""
    return train(LMTrainer, cfg, data, run, resume, progress, hooks)


def export_embeddings(model: EmbeddingLM, vocab: Vocab, run: RunDir, cfg: LMConfig) -> None:
    """input / output (+ bias) for untied runs, tied (+ bias) for tied runs, projection.npz for PR."""
    words = vocab.words
    name = model_name("lm", dataclasses.asdict(cfg))
    bias = model.decoder.bias.detach().cpu().numpy() if model.decoder.bias is not None else None
    u = model.input_embedding().detach().cpu().numpy()
    if cfg.tied:
        run.save_embedding("tied", Embedding(words, u, role="tied", model=name, bias=bias))
    else:
        run.save_embedding("input", Embedding(words, u, role="input", model=name))
        v = model.output_embedding().detach().cpu().numpy()
        run.save_embedding("output", Embedding(words, v, role="output", model=name, bias=bias))
    for role, layer in model.more_outputs().items():
        extra_bias = layer.bias.detach().cpu().numpy() if layer.bias is not None else None
        run.save_embedding(role, Embedding(words, layer.weight.detach().cpu().numpy(), role=role, model=name,
                                           bias=extra_bias))  # fmt: skip
    if model.projection is not None:
        proj = {"weight": model.projection.weight.detach().cpu().numpy()}
        if model.projection.bias is not None:
            proj["bias"] = model.projection.bias.detach().cpu().numpy()
        atomic_write_npz(run.path / PROJECTION, proj)


def tiny_pair(config: str, corpus: Any, folder: Path) -> tuple[dict[bool, LMConfig], LMData]:
    """The check suite's setup of an architecture (embedeval.testing): its tiny config untied and tied (wt), two
    short epochs."""
    from embedeval.train.lm_config import make_config

    cfgs = {tied: make_config(config, variant, threads=1, max_batches=4, epochs=2)
            for tied, variant in ((False, "untied"), (True, "wt"))}  # fmt: skip
    return cfgs, load_lm_data(corpus)
