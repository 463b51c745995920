"""Skip-gram with negative sampling (SGNS) that exports U (input) and V (output), untied or tied.

Two backends. ``gensim`` is the reference implementation (U = ``wv.vectors``, V = ``syn1neg``).
``torch`` is the same algorithm written out -- dynamic window, frequent-word subsampling, negatives
from unigram^0.75, linearly decaying learning rate, U small uniform and V zeros -- with the updates
computed by hand so that the input-side and output-side parts of every gradient are visible (the
gradient tap the dynamics tracker uses) and so that U and V can be one tied matrix. ``TorchSGNS`` keeps the trainer
contract of :mod:`embedeval.train.base` (it is registered there as ``skipgram``).
As in word2vec, a (center, context) pair trains the context word's input row to predict the center
word (and the negatives) on the output side.

The torch updates follow HogBatch (Ji et al. 2016, pWord2vec): the context words of one center's window share that
center's K negatives, so a window is two small matrix products (contexts x [center; negatives]) instead of one dot
product per (pair, negative); a batch of windows is one ``bmm`` and two row scatters. A negative equal to the
center is skipped, as word2vec does.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embedeval.data.corpus import Corpus, Vocab
from embedeval.embeddings.embedding import Embedding
from embedeval.errors import EmbedevalError
from embedeval.files import atomic_write
from embedeval.layout import CHECKPOINT, VOCAB
from embedeval.rundir import RunDir
from embedeval.train.base import GradHook, StepHooks, load_checkpoint, train
from embedeval.train.skipgram_config import MAX_SENTENCE, SkipGramConfig
from embedeval.trainers import model_name


def _not_finite(epoch: int, run: RunDir) -> EmbedevalError:
    run.summary("incomplete", error=f"vectors NaN or infinite in epoch {epoch}")
    return EmbedevalError(
        f"the vectors became NaN or infinite in epoch {epoch}: stopped; the embeddings of the last good epoch are "
        "kept (lower --alpha)",
        run.path,
    )


def training_tokens(corpus: Corpus) -> int:
    """How many tokens the corpus's training split holds (one pass over it)."""
    return sum(len(tokens) for tokens in corpus.lines("train"))


def sentences(corpus: Corpus, stats: dict[str, int] | None = None, fraction: float = 1.0) -> Iterator[list[str]]:
    """The corpus's token lines, each cut into pieces of at most :data:`MAX_SENTENCE` tokens; with ``fraction`` < 1,
    only the first ``fraction`` of its training tokens (``--train-fraction``: a contiguous prefix, the last line cut
    where the prefix ends)."""
    limit = None if fraction >= 1 else max(1, round(fraction * training_tokens(corpus)))
    done = 0
    for tokens in corpus.lines("train"):
        if limit is not None:
            if done >= limit:
                return
            tokens = tokens[: limit - done]
            done += len(tokens)
        if len(tokens) <= MAX_SENTENCE:
            yield tokens
            continue
        if stats is not None:
            stats["long_lines_split"] = stats.get("long_lines_split", 0) + 1
        for start in range(0, len(tokens), MAX_SENTENCE):
            yield tokens[start : start + MAX_SENTENCE]


class _Lines:
    """A re-iterable stream of token lines for gensim (one pass per epoch, nothing kept in memory).

    ``on_words(n)`` is called every ~100k tokens handed to gensim: its only sign of progress within an epoch
    (gensim's callbacks fire per epoch; its job queue runs at most a few batches ahead of the workers).
    """

    def __init__(self, corpus: Corpus, on_words: Callable[[int], None] | None = None, fraction: float = 1.0):
        self.corpus, self.fraction = corpus, fraction
        self.stats: dict[str, int] = {}
        self.on_words = on_words

    def __iter__(self) -> Iterator[list[str]]:
        self.stats = {}
        if self.on_words is None:
            return sentences(self.corpus, self.stats, self.fraction)
        return self._counted()

    def _counted(self) -> Iterator[list[str]]:
        done = reported = 0
        for tokens in sentences(self.corpus, self.stats, self.fraction):
            done += len(tokens)
            if done - reported >= 100_000:
                self.on_words(done)
                reported = done
            yield tokens


def train_skipgram(
    cfg: SkipGramConfig,
    corpus: Corpus,
    run: RunDir,
    progress: Callable[[dict[str, Any]], None] | None = None,
    resume: bool = False,
    hooks: StepHooks | None = None,
) -> dict[str, Any]:
    cfg.validate()
    if resume and cfg.backend != "torch":
        raise EmbedevalError("--resume is for --backend torch: gensim trains in one call (start it again)")
    if not resume:
        run.summary("incomplete", config=cfg)
    if cfg.backend == "gensim":
        return _train_gensim(cfg, corpus, run, progress)
    return train(TorchSGNS, cfg, corpus, run, resume, progress, hooks)


# --- gensim ----------------------------------------------------------------------------------------


def _train_gensim(cfg: SkipGramConfig, corpus: Corpus, run: RunDir, progress) -> dict[str, Any]:
    from gensim.models import FastText, Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochLog(CallbackAny2Vec):
        def __init__(self) -> None:
            self.epoch, self.started, self.training = 0, time.perf_counter(), False

        def on_epoch_begin(self, model: Any) -> None:
            self.started = time.perf_counter()
            self.training = True

        def on_epoch_end(self, model: Any) -> None:
            self.epoch += 1
            if not (np.isfinite(model.wv.vectors).all() and np.isfinite(model.syn1neg).all()):
                raise _not_finite(self.epoch, run)
            seconds = time.perf_counter() - self.started
            record = {"epoch": self.epoch, "seconds": seconds, "words_per_s": total_words / max(seconds, 1e-9)}
            run.log(record)
            export_gensim(model, run, cfg)  # finished epochs survive a Ctrl-C
            if progress:
                progress({**record, "epochs": cfg.epochs})

    lines = _Lines(corpus, fraction=cfg.train_fraction)
    kind = FastText if cfg.model == "fasttext" else Word2Vec
    model = kind(
        vector_size=cfg.dim,
        window=cfg.window,
        negative=cfg.negative,
        hs=0,
        sg=1,
        min_count=cfg.min_count,
        sample=cfg.sample,
        alpha=cfg.alpha,
        min_alpha=cfg.min_alpha,
        seed=cfg.seed,
        workers=cfg.workers,
        max_final_vocab=cfg.max_vocab,
    )
    model.build_vocab(lines)
    epoch_log = EpochLog()
    if progress is not None:  # within an epoch, the line stream reports the words handed to gensim

        def on_words(done: int) -> None:
            if epoch_log.training:
                epoch = epoch_log.epoch
                seconds = max(time.perf_counter() - epoch_log.started, 1e-9)
                progress({"epoch": epoch + 1, "epochs": cfg.epochs, "words_per_s": done / seconds,
                          "fraction": (epoch + min(done / max(model.corpus_total_words, 1), 1.0)) / cfg.epochs})  # fmt: skip

        lines.on_words = on_words
    if model.corpus_total_words == 0:
        raise EmbedevalError("the corpus is empty: no tokens to train on", corpus.path("train"))
    if len(model.wv) == 0:
        raise EmbedevalError(f"no word occurs at least min_count={cfg.min_count} times; lower --min-count")
    run.publish()  # inputs are good: now the new run may replace an old one (--overwrite)
    run.ensure_config(cfg, "skipgram")
    total_words = model.corpus_total_words
    words = list(model.wv.index_to_key)
    counts = np.array([model.wv.get_vecattr(w, "count") for w in words])
    Vocab(words, counts).save(run.path / VOCAB)
    started = time.perf_counter()
    model.train(lines, total_examples=model.corpus_count, epochs=cfg.epochs, callbacks=[epoch_log])
    seconds = time.perf_counter() - started
    summary = {
        "words": len(words),
        "corpus_words": total_words,
        "trained_tokens": int(counts.sum()),  # per epoch, before subsampling: the tokens whose word is kept
        "long_lines_split": lines.stats.get("long_lines_split", 0),
        "seconds": seconds,
        "words_per_s": total_words * cfg.epochs / seconds,
    }
    run.summary("complete", **summary)
    return summary


def export_gensim(model: Any, run: RunDir, cfg: SkipGramConfig) -> None:
    words = list(model.wv.index_to_key)
    name = model_name("skipgram", dataclasses.asdict(cfg))
    run.save_embedding("input", Embedding(words, model.wv.vectors, role="input", model=name))
    run.save_embedding("output", Embedding(words, model.syn1neg, role="output", model=name))


# --- torch -----------------------------------------------------------------------------------------


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's subsampling: keep a token of frequency f with (sqrt(f / t) + 1) * t / f, t = sample * total."""
    if sample <= 0:
        return np.ones(len(counts))
    threshold = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)


def negative_table(counts: np.ndarray, power: float = 0.75, size: int = 10_000_000) -> np.ndarray:
    """word2vec's unigram table: word i fills a share count_i^power / sum of it; a negative is a uniform pick."""
    weights = counts.astype(np.float64) ** power
    cdf = np.cumsum(weights / weights.sum())
    table = np.searchsorted(cdf, (np.arange(size) + 0.5) / size)
    return np.minimum(table, len(counts) - 1).astype(np.int32)


def window_contexts(
    ids: np.ndarray, sentence: np.ndarray, window: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Every center's context words within its dynamic window (size drawn per center in 1..window, never across a
    line), as a (centers, 2 x window) array of word ids in text order and a mask of the slots that hold one."""
    reduced = rng.integers(1, window + 1, size=len(ids))
    offsets = np.r_[np.arange(-window, 0), np.arange(1, window + 1)]
    position = np.arange(len(ids))[:, None] + offsets[None, :]
    inside = (position >= 0) & (position < len(ids)) & (np.abs(offsets)[None, :] <= reduced[:, None])
    position = np.clip(position, 0, max(len(ids) - 1, 0))
    inside &= sentence[position] == sentence[:, None]
    return np.where(inside, ids[position], 0), inside


class TorchSGNS:
    """The torch backend, step by step: ``steps()`` yields after every batched update.

    Everything random (subsampling, window sizes, negatives) comes from one generator seeded by
    ``cfg.seed`` and does not depend on tying, so a tied and an untied run with the same seed draw
    identical pairs in identical order -- the dynamics tracker relies on that. U_0 is identical too.
    """

    def __init__(
        self,
        cfg: SkipGramConfig,
        corpus: Corpus,
        run: RunDir,
        resume: bool = False,
        model_hook: Callable[[_Matrices], None] | None = None,
    ):
        self.cfg, self.run = cfg, run
        self.grad_hook: GradHook | None = None
        torch.manual_seed(cfg.seed)
        if cfg.parallel > 1:
            if model_hook is not None:
                raise EmbedevalError("--parallel trains slices of each chunk on copies of U and V, so there is no one "
                                     "stream of updates to track; track with --parallel 1")  # fmt: skip
            torch.set_num_threads(1)  # the slices are the parallelism: one thread each, no intra-op pool to share
        elif cfg.workers:
            torch.set_num_threads(cfg.workers)
        self.rng = np.random.default_rng(cfg.seed)
        self.line_stats: dict[str, int] = {}
        self.vocab = vocab = Vocab.build(sentences(corpus, fraction=cfg.train_fraction), min_count=cfg.min_count,
                                         max_size=cfg.max_vocab)  # fmt: skip
        run.publish()  # inputs are good: now the new run may replace an old one (--overwrite)
        vocab.save(run.path / VOCAB)
        self.ids, starts = vocab.encode(sentences(corpus, self.line_stats, cfg.train_fraction), with_boundaries=True)
        # sentence index of every kept token, so windows never cross a line
        lengths = np.diff(np.r_[starts, len(self.ids)])
        self.sentence = np.repeat(np.arange(len(starts)), lengths)
        n, d = len(vocab), cfg.dim
        generator = torch.Generator().manual_seed(cfg.seed)
        self.u = (torch.rand(n, d, generator=generator) - 0.5) / d  # word2vec: U uniform in [-0.5/d, 0.5/d]
        self.v = self.u if cfg.tie else torch.zeros(n, d)  # V zeros (a tied matrix cannot start at 0: no gradient)
        self.keep = keep_probabilities(vocab.counts, cfg.sample)
        self.table = negative_table(vocab.counts)
        self.step, self.epoch, self._lr = 0, 0, cfg.alpha
        self.summary: dict[str, Any] | None = None
        self.model = _Matrices(self)
        if model_hook is not None:
            model_hook(self.model)
        # where the run stands inside an epoch: the chunk being trained, the random state its pairs were drawn
        # from, the next batch, and the epoch's sums so far (a checkpoint mid-epoch resumes bit-exactly)
        self.position: dict[str, Any] = {"chunk": 0, "rng": None, "batch": 0, "sums": (0.0, 0, 0)}
        if resume:
            run.check_resume_config(cfg, may_change=("workers", "epochs"))
            self._restore()
        else:
            run.ensure_config(cfg, "skipgram")

    @property
    def ckpt_path(self) -> Path:
        return self.run.path / CHECKPOINT

    def _restore(self) -> None:
        state = load_checkpoint(
            self.ckpt_path, ("model", "epoch", "batch", "chunk", "rng", "sums", "step", "vocab_size")
        )
        if state["vocab_size"] != len(self.vocab):
            raise EmbedevalError(
                f"vocabulary mismatch on --resume: the checkpoint has {state['vocab_size']} words, the corpus gives "
                f"{len(self.vocab)}; resume with the corpus and --min-count the run was trained with",
                self.ckpt_path,
            )
        self.u.copy_(state["model"]["u"])
        if not self.cfg.tie:
            self.v.copy_(state["model"]["v"])
        self.epoch, self.step = state["epoch"], state["step"]
        self.position = {"chunk": state["chunk"], "rng": json.loads(state["rng"]), "batch": state["batch"],
                         "sums": tuple(state["sums"])}  # fmt: skip
        self.rng.bit_generator.state = self.position["rng"]

    def checkpoint(self) -> None:
        """U, V and the position inside the epoch (tensors, numbers and one JSON string: weights_only loadable)."""
        state = {
            "model": {"u": self.u.clone(), **({} if self.cfg.tie else {"v": self.v.clone()})},
            "epoch": self.epoch,
            "batch": self.position["batch"],
            "chunk": self.position["chunk"],
            "rng": json.dumps(self.position["rng"]),
            "sums": list(self.position["sums"]),
            "step": self.step,
            "vocab_size": len(self.vocab),
        }
        atomic_write(self.ckpt_path, lambda tmp: torch.save(state, tmp))
        export_torch(self.u, self.v, self.vocab, self.run, self.cfg)

    def interrupt(self, reason: str) -> None:
        self.checkpoint()
        self.run.summary("incomplete", interrupted=reason, epoch=self.epoch + 1)

    @property
    def total_steps(self) -> int:
        """About how many updates the run makes (subsampling is random): kept tokens / centers per update."""
        kept = float((self.keep[self.ids]).sum())
        return int(self.cfg.epochs * kept / self.cfg.batch_size)

    CHUNK = 200_000  # corpus tokens drawn at a time (subsampling, windows, negatives); --parallel splits each
    GRAD_EVERY = 25  # thousands of small updates per epoch: the tracker splits every 25th

    def tracked_vocabulary(self) -> tuple[list[str], np.ndarray]:
        return self.vocab.words, self.vocab.counts

    def record_position(self, final: bool) -> dict[str, Any]:
        return {"epoch": self.epoch, "lr": self.lr()}

    def start_position(self) -> dict[str, Any]:
        return {"epoch": 0, "lr": self.lr()}

    def _lr_at(self, fraction: float) -> float:
        """word2vec's linear decay from alpha to min_alpha at ``fraction`` of the whole run."""
        cfg = self.cfg
        return max(cfg.alpha - (cfg.alpha - cfg.min_alpha) * fraction, cfg.min_alpha)

    def lr(self) -> float:
        """The step size of the last update (word2vec's linear decay from alpha to min_alpha)."""
        return self._lr

    def steps(self, progress: Callable[[dict[str, Any]], None] | None = None) -> Iterator[int]:
        if self.cfg.parallel > 1:
            yield from self._parallel_steps(progress)
            return
        from concurrent.futures import ThreadPoolExecutor

        if torch.get_num_threads() >= _cores():
            # the stream's kernels already use every core: a drawing thread beside them stalls their thread team
            # (measured: one stream on 2 threads fell from 0.9x to 0.44x gensim), so the draws stay in line
            yield from self._stream_steps(_InLine(), progress)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="sgns-draws") as ahead:
            yield from self._stream_steps(ahead, progress)

    def _drawn_ahead(self, ahead: Any, starts: range, draw: Callable[[int], Any]) -> Iterator[tuple[int, Any]]:
        """Each chunk start of the epoch with ``draw(start)``, the next chunk's draw handed to ``ahead`` before this
        one is trained (never past the epoch's end, so the generator then stands where the next epoch begins)."""
        drawn = ahead.submit(draw, starts[0]) if starts else None
        for k, a in enumerate(starts):
            result = drawn.result()
            if k + 1 < len(starts):
                drawn = ahead.submit(draw, starts[k + 1])
            yield a, result

    def _drawn_with_states(self, a: int) -> tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]:
        """Chunk ``a``'s draws between the generator's state before them and after them (copies)."""
        before = self.rng.bit_generator.state
        drawn = self._chunk_draws(a, self.CHUNK)
        return before, drawn, self.rng.bit_generator.state

    def _stream_steps(self, ahead: Any, progress: Callable[[dict[str, Any]], None] | None) -> Iterator[int]:
        """One stream of updates. While a chunk trains, ``ahead`` draws the next chunk of the epoch: the draws depend
        on the generator alone, never on U and V, so drawing ahead changes no number; the positions saved keep the
        generator's state before and after each chunk's own draws, never a state past them."""
        cfg, ids = self.cfg, self.ids
        total = cfg.epochs * len(ids)
        chunk = self.CHUNK
        started_all = time.perf_counter()
        epochs_before = self.epoch + self.position["chunk"] / max(len(ids), 1)  # a resumed run starts part-way
        while self.epoch < cfg.epochs:
            epoch = self.epoch
            started = time.perf_counter()
            first, skip = self.position["chunk"], self.position["batch"]
            loss_sum, loss_count, pair_count = self.position["sums"]
            for a, drawn in self._drawn_ahead(ahead, range(first, len(ids), chunk), self._drawn_with_states):
                before, (contexts_t, outputs_t, weights_t, pairs, size), after = drawn
                if a != first or self.position["rng"] is None:
                    self.position["rng"] = before  # this chunk's draws start here
                done = epoch * len(ids) + a
                batches = range(0, len(contexts_t), cfg.batch_size)
                for i, b in enumerate(batches):
                    if a == first and i < skip:
                        continue  # done before the checkpoint this run resumed from
                    progress_frac = (done + size * i / max(len(batches), 1)) / total
                    self._lr = self._lr_at(progress_frac)
                    window = slice(b, b + cfg.batch_size)
                    loss = _sgns_step(self.u, self.v, contexts_t[window], outputs_t[window], weights_t[window],
                                      self._lr, self.grad_hook, self.step)  # fmt: skip
                    if loss is not None:
                        loss_sum, loss_count = loss_sum + loss, loss_count + 1
                    self.step += 1
                    last = i == len(batches) - 1
                    pairs_now = pair_count + (pairs if last else 0)
                    # after a chunk's last batch, the next chunk's draws begin where this chunk's ended
                    self.position = {"chunk": a + chunk if last else a,
                                     "rng": after if last else self.position["rng"],
                                     "batch": 0 if last else i + 1, "sums": (loss_sum, loss_count, pairs_now)}  # fmt: skip
                    yield self.step
                pair_count += pairs
                self.position["sums"] = (loss_sum, loss_count, pair_count)
                if progress:
                    elapsed = time.perf_counter() - started
                    finished = done + size - epoch * len(ids)
                    words_per_s = finished / max(elapsed, 1e-9) * self.vocab.total_tokens / len(ids)
                    progress({"epoch": epoch + 1, "epochs": cfg.epochs, "fraction": (done + size) / total,
                              "words_per_s": words_per_s})  # fmt: skip
            self._end_epoch(epoch, started, loss_sum, loss_count, pair_count)
        self._finish(started_all, epochs_before)

    def _end_epoch(self, epoch: int, started: float, loss_sum: float, loss_count: int, pair_count: int) -> None:
        seconds = time.perf_counter() - started
        record = {
            "epoch": epoch + 1,
            "seconds": seconds,
            "words_per_s": self.vocab.total_tokens / max(seconds, 1e-9),
            "loss_per_pair": loss_sum / max(loss_count, 1),
            "pairs": pair_count,
            "step": self.step,
        }
        if not (torch.isfinite(self.u).all() and torch.isfinite(self.v).all()):
            raise _not_finite(epoch + 1, self.run)
        self.epoch += 1
        self.position = {"chunk": 0, "rng": self.rng.bit_generator.state, "batch": 0, "sums": (0.0, 0, 0)}
        self.checkpoint()
        self.run.log(record)

    def _finish(self, started_all: float, epochs_before: float) -> None:
        cfg, n = self.cfg, len(self.vocab)
        seconds = time.perf_counter() - started_all
        # words/s counts raw corpus words, as gensim does, so the two backends compare like for like
        self.summary = {
            "words": n,
            "corpus_words": self.vocab.total_tokens,
            "trained_tokens": len(self.ids),
            "long_lines_split": self.line_stats.get("long_lines_split", 0),
            "seconds": seconds,
            # the epochs trained by this call (a resumed run trained only the rest; a finished one nothing)
            "words_per_s": self.vocab.total_tokens * (cfg.epochs - epochs_before) / seconds
            if cfg.epochs > epochs_before
            else None,
            "steps": self.step,
            **self.model.parameter_counts(),
        }
        self.run.summary("complete", **self.summary)

    def _chunk_draws(self, a: int, chunk: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int, int]:
        """A chunk's windows, drawn from ``self.rng`` exactly as the one-stream loop draws them."""
        cfg, rng = self.cfg, self.rng
        part, part_sentence = self.ids[a : a + chunk], self.sentence[a : a + chunk]
        kept = rng.random(len(part)) < self.keep[part]
        centers = part[kept]
        contexts, inside = window_contexts(centers, part_sentence[kept], cfg.window, rng)
        negatives = self.table[rng.integers(0, len(self.table), size=(len(centers), cfg.negative))]
        outputs = np.concatenate([centers[:, None], negatives], axis=1)
        # weight of each (context slot, output) score: 0 for empty slots and for a negative equal to the center
        weights = inside[:, :, None] & (outputs != centers[:, None])[:, None, :]
        weights[:, :, 0] = inside
        return (torch.from_numpy(contexts.astype(np.int64)), torch.from_numpy(outputs.astype(np.int64)),
                torch.from_numpy(weights.astype(np.float32)), int(inside.sum()), len(part))  # fmt: skip

    def _parallel_steps(self, progress: Callable[[dict[str, Any]], None] | None = None) -> Iterator[int]:
        """``cfg.parallel`` threads per chunk, each over a contiguous slice of the chunk's batches with the learning
        rates the one-stream loop gives those batches. The first slice trains U and V in place; every other one
        trains a copy of only the rows its batches touch, and its update (final minus start rows) is added to U and V
        when all are done, in slice order: the result depends on the seed and ``parallel`` only. The steps are
        yielded per chunk, so a checkpoint, an interrupt or a resume always stands between chunks.

        While a chunk trains, one more thread draws the next chunk of the epoch and maps each slice's words to rows
        of its copy: the draws depend on the generator alone, never on U and V, so drawing ahead changes no number,
        and what is left between two chunks is copying the rows and adding the updates."""
        from concurrent.futures import ThreadPoolExecutor

        cfg, ids = self.cfg, self.ids
        total, chunk, p = cfg.epochs * len(ids), self.CHUNK, cfg.parallel
        started_all = time.perf_counter()
        epochs_before = self.epoch + self.position["chunk"] / max(len(ids), 1)
        stop = threading.Event()

        def train_slice(u, v, contexts, outputs, weights, jobs: list[tuple[int, slice, float]]) -> tuple[float, int]:
            # OpenMP's thread count is per thread: a pool thread would otherwise open a team of every core in each op
            torch.set_num_threads(1)
            loss_sum, loss_count = 0.0, 0
            for step, window, lr in jobs:
                if stop.is_set():
                    break
                loss = _sgns_step(u, v, contexts[window], outputs[window], weights[window], lr, None, step)
                if loss is not None:
                    loss_sum, loss_count = loss_sum + loss, loss_count + 1
            return loss_sum, loss_count

        with ThreadPoolExecutor(p, thread_name_prefix="sgns-slice") as pool, \
                ThreadPoolExecutor(1, thread_name_prefix="sgns-draws") as ahead:  # fmt: skip
            try:
                while self.epoch < cfg.epochs:
                    epoch, started = self.epoch, time.perf_counter()
                    loss_sum, loss_count, pair_count = self.position["sums"]
                    starts = range(self.position["chunk"], len(ids), chunk)
                    for a, plan in self._drawn_ahead(ahead, starts, self._slice_draws):
                        done = epoch * len(ids) + a
                        n_batches = plan.n_batches
                        # every copy is taken here, before the first slice starts changing U and V in place
                        slices, merges = self._slice_work(plan, done, total)
                        results = [f.result() for f in [pool.submit(train_slice, *args) for args in slices]]
                        for merge in merges:  # in slice order: the same sums on every machine
                            for matrix, rows, final, first in merge:
                                matrix.scatter_add_(0, rows.unsqueeze(1).expand(-1, matrix.size(1)), final.sub_(first))
                        for part_sum, part_count in results:
                            loss_sum, loss_count = loss_sum + part_sum, loss_count + part_count
                        self.step += n_batches
                        pair_count += plan.pairs
                        self.position = {"chunk": a + chunk, "rng": plan.rng_after, "batch": 0,
                                         "sums": (loss_sum, loss_count, pair_count)}  # fmt: skip
                        if n_batches:
                            frac = (done + plan.size * (n_batches - 1) / n_batches) / total
                            self._lr = self._lr_at(frac)
                        if progress:
                            elapsed = time.perf_counter() - started
                            progress({"epoch": epoch + 1, "epochs": cfg.epochs, "fraction": (done + plan.size) / total,
                                      "words_per_s": (done + plan.size - epoch * len(ids)) / max(elapsed, 1e-9)
                                      * self.vocab.total_tokens / len(ids)})  # fmt: skip
                        yield self.step
                    self._end_epoch(epoch, started, loss_sum, loss_count, pair_count)
            finally:
                stop.set()  # an interrupt: slices still running stop at their next batch
        self._finish(started_all, epochs_before)

    def _slice_work(self, plan: _ChunkPlan, done: int, total: int) -> tuple[list[list[Any]], list[list[Any]]]:
        """Each slice's arguments for its thread (matrices, windows, and per batch its step number, windows and the
        learning rate the one-stream loop gives it), and for every slice but the first the copies to merge back:
        (matrix, rows, the copy, the copy as it started)."""
        size_b, slices, merges = self.cfg.batch_size, [], []
        for k, part in enumerate(plan.slices):
            jobs = []
            for i in range(part.batches.start, part.batches.stop):
                frac = (done + plan.size * i / max(plan.n_batches, 1)) / total
                first = (i - part.batches.start) * size_b
                jobs.append((self.step + i, slice(first, first + size_b), self._lr_at(frac)))
            windows = [part.contexts, part.outputs, part.weights, jobs]
            if k == 0:
                slices.append([self.u, self.v, *windows])
            elif self.cfg.tie:
                u = self.u.index_select(0, part.rows_in)
                slices.append([u, u, *windows])
                merges.append([(self.u, part.rows_in, u, u.clone())])
            else:
                u, v = self.u.index_select(0, part.rows_in), self.v.index_select(0, part.rows_out)
                slices.append([u, v, *windows])
                merges.append([(self.u, part.rows_in, u, u.clone()), (self.v, part.rows_out, v, v.clone())])
        return slices, merges

    def _slice_draws(self, a: int) -> _ChunkPlan:
        """Chunk ``a``'s draws cut into ``cfg.parallel`` slices of whole batches; every slice but the first with its
        words mapped to rows of its own copy (the rows it touches, ascending)."""
        torch.set_num_threads(1)
        cfg, p, size_b = self.cfg, self.cfg.parallel, self.cfg.batch_size
        _, (contexts, outputs, weights, pairs, size), rng_after = self._drawn_with_states(a)
        n_batches = -(-len(contexts) // size_b)
        bounds = np.linspace(0, n_batches, p + 1).astype(int)
        n_words = len(self.vocab)
        slices = []
        for k in range(p):
            c0, c1 = bounds[k] * size_b, min(bounds[k + 1] * size_b, len(contexts))
            ctx, out, w = contexts[c0:c1], outputs[c0:c1], weights[c0:c1]
            rows_in = rows_out = None
            if k and cfg.tie:
                rows_in, both = _local_rows(torch.cat([ctx.reshape(-1), out.reshape(-1)]), n_words)
                ctx, out = both[: ctx.numel()].view_as(ctx), both[ctx.numel() :].view_as(out)
            elif k:
                rows_in, local_ctx = _local_rows(ctx.reshape(-1), n_words)
                rows_out, local_out = _local_rows(out.reshape(-1), n_words)
                ctx, out = local_ctx.view_as(ctx), local_out.view_as(out)
            slices.append(_Slice(range(bounds[k], bounds[k + 1]), ctx, out, w, rows_in, rows_out))
        return _ChunkPlan(slices, n_batches, pairs, size, rng_after)


def _cores() -> int:
    """The cores this process may run on."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _InLine:
    """An executor that runs each job at once, in the calling thread (the ``submit`` of one that draws ahead)."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        from concurrent.futures import Future

        done: Future = Future()
        done.set_result(fn(*args))
        return done


@dataclasses.dataclass
class _Slice:
    """One thread's share of a chunk: its batches (numbered within the chunk) and their windows; for a copy, the
    rows of U (and V) it holds, its words given as positions in those rows."""

    batches: range
    contexts: torch.Tensor
    outputs: torch.Tensor
    weights: torch.Tensor
    rows_in: torch.Tensor | None
    rows_out: torch.Tensor | None


@dataclasses.dataclass
class _ChunkPlan:
    slices: list[_Slice]
    n_batches: int
    pairs: int
    size: int
    rng_after: dict[str, Any]


def _local_rows(ids: torch.Tensor, n_words: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct ids, ascending (``torch.unique``'s answer), and each id's position among them, by marking a
    vocabulary-long table rather than sorting: linear in the ids."""
    seen = torch.zeros(n_words, dtype=torch.bool)
    seen[ids] = True
    rows = seen.nonzero().squeeze(1)
    where = torch.empty(n_words, dtype=torch.int64)
    where[rows] = torch.arange(len(rows))
    return rows, where[ids]


class _Matrices:
    """The torch SGNS run's U and V seen through the embedding contract of the other trainers
    (:class:`embedeval.train.base.EmbeddingModel`); its gradient tap reports rows, not dense matrices."""

    def __init__(self, trainer: TorchSGNS):
        self._trainer = trainer

    @property
    def grad_hook(self) -> GradHook | None:
        return self._trainer.grad_hook

    @grad_hook.setter
    def grad_hook(self, hook: GradHook | None) -> None:
        self._trainer.grad_hook = hook  # called by _sgns_step with the rows it updates

    def input_embedding(self) -> torch.Tensor:
        return self._trainer.u

    def output_embedding(self) -> torch.Tensor:
        return self._trainer.v

    def parameter_counts(self) -> dict[str, int]:
        unique = self._trainer.u.numel() + (0 if self._trainer.cfg.tie else self._trainer.v.numel())
        return {"unique_parameters": unique}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"u": self._trainer.u, "v": self._trainer.v}


def _sgns_step(
    u: torch.Tensor,
    v: torch.Tensor,
    contexts: torch.Tensor,
    outputs: torch.Tensor,
    weights: torch.Tensor,
    lr: float,
    grad_hook: GradHook | None,
    step: int,
) -> float | None:
    """One HogBatch update over B windows. ``contexts`` (B, C): each window's context words (the input side);
    ``outputs`` (B, K+1): its center (the true word) and its K negatives, shared by the window's contexts;
    ``weights`` (B, C, K+1): 1 where a (context, output) score counts, 0 for empty slots and skipped negatives.

    The loss sum_w [-log s(x.y) - sum log s(-x.n)] has closed-form gradients: a window's score matrix
    G = weights * (sigmoid(X Y^T) - labels) gives the input rows G Y and the output rows G^T X.
    """
    b, c = contexts.shape
    d = u.size(1)
    x = u.index_select(0, contexts.reshape(-1)).view(b, c, d)
    y = v.index_select(0, outputs.reshape(-1)).view(b, -1, d)
    sig = torch.sigmoid(torch.bmm(x, y.transpose(1, 2)))  # (B, C, K+1)
    g = sig.clone()
    g[:, :, 0] -= 1.0  # d loss / d score: sigmoid(score) - label
    g.mul_(weights)
    rows_in, rows_out = contexts.reshape(-1), outputs.reshape(-1)
    if grad_hook is not None:  # a sampled step: the tap sees the gradients (real rows only), then the same update
        filled = weights[:, :, 0].reshape(-1) > 0
        grad_hook("input", torch.bmm(g, y).view(-1, d)[filled], rows_in[filled])
        grad_hook("output", torch.bmm(g.transpose(1, 2), x).view(-1, d), rows_out)
    # the step size folded in once, on the small score array, on every step alike: a tracked run's update is the
    # same arithmetic as an untracked one's
    g.mul_(-lr)
    grad_in = torch.bmm(g, y).view(-1, d)  # (B*C, d): empty slots get zero rows
    grad_out = torch.bmm(g.transpose(1, 2), x).view(-1, d)  # (B*(K+1), d)
    # both updates use the pre-step values (computed above), then land in U and V (one matrix if tied).
    # scatter_add_ rather than index_add_: on CPU index_add_ dispatches one add per row
    u.scatter_add_(0, rows_in.unsqueeze(1).expand(-1, d), grad_in)
    v.scatter_add_(0, rows_out.unsqueeze(1).expand(-1, d), grad_out)
    if step % 16:
        return None  # the loss is only for the log: sample it, do not pay for it every step
    positive = (torch.log(sig[:, :, 0] + 1e-12) * weights[:, :, 0]).sum()
    negative = (torch.log(1 - sig[:, :, 1:] + 1e-12) * weights[:, :, 1:]).sum()
    return -float(positive + negative) / max(float(weights[:, :, 0].sum()), 1.0)


def export_torch(u: torch.Tensor, v: torch.Tensor, vocab: Vocab, run: RunDir, cfg: SkipGramConfig) -> None:
    name = model_name("skipgram", dataclasses.asdict(cfg))
    if cfg.tie:
        run.save_embedding("tied", Embedding(vocab.words, u.numpy(), role="tied", model=name))
    else:
        run.save_embedding("input", Embedding(vocab.words, u.numpy(), role="input", model=name))
        run.save_embedding("output", Embedding(vocab.words, v.numpy(), role="output", model=name))


def tiny_setup(corpus: Corpus, folder: Path) -> tuple[dict[bool, SkipGramConfig], Corpus]:
    """The check suite's setup (embedeval.testing): the torch backend untied and tied, width 8, two epochs."""
    cfgs = {tie: SkipGramConfig(backend="torch", dim=8, epochs=2, min_count=1, workers=1, batch_size=64, tie=tie)
            for tie in (False, True)}  # fmt: skip
    return cfgs, corpus
