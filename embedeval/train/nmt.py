"""Training the translation model: subword vocabulary, token-budget batches, label-smoothed cross-entropy, AdamW with
warm-up and decay, greedy validation BLEU every epoch, beam-search test BLEU and chrF (sacreBLEU) at the end, safe
checkpoints with bit-exact resume, and the export of E, U and V.

The trainer follows the language-model trainer's contract (``steps()``, ``interrupt()``, ``model.input_embedding()``
/ ``output_embedding()``, ``grad_hook``), so the dynamics tracker drives a decoder-tied and an untied run in lockstep
with the code it uses for language models.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from embedeval.data.corpus import Vocab
from embedeval.data.parallel import ParallelData
from embedeval.embeddings.embedding import Embedding
from embedeval.embeddings.subword import (
    BOS,
    EOS,
    PAD,
    WORD_START,
    Subwords,
    single_piece_view,
    train_subwords,
    word_types,
)
from embedeval.errors import EmbedevalError
from embedeval.files import atomic_write, atomic_write_text
from embedeval.layout import (
    CHECKPOINT,
    JOINT_SUBWORD_MODEL,
    SRC_SUBWORD_MODEL,
    SUBWORDS,
    TEST_HYP,
    TEST_REF,
    TGT_SUBWORD_MODEL,
    VALID_HYP,
)
from embedeval.rundir import RunDir
from embedeval.train import base, distributed
from embedeval.train.base import Interruptible, OwnRandomState, StepHooks, check_finite_epoch, nll_to_ppl, train
from embedeval.train.lm import cosine_learning_rate
from embedeval.train.nmt_config import NMTConfig, validate
from embedeval.train.nmt_model import Seq2Seq
from embedeval.train.nmt_search import pad_batch, translate
from embedeval.trainers import model_name

CHECKPOINT_KEYS = ("model", "optimizer", "epoch", "batch", "torch_rng", "history")


@dataclass
class NMTData:
    """Subword models and piece ids per split; the raw target sentences are the references."""

    src_sp: Subwords
    tgt_sp: Subwords
    src: dict[str, list[list[int]]]
    tgt: dict[str, list[list[int]]]
    text: ParallelData  # the raw sentences they were encoded from
    src_lang: str
    tgt_lang: str
    # write test.ref.txt beside test.hyp.txt (the user's own files; Multi30k's stay in the data directory)
    store_references: bool = False

    @property
    def joint(self) -> bool:
        return self.src_sp is self.tgt_sp

    @property
    def references(self) -> dict[str, list[str]]:
        """The raw target sentences of every split (what BLEU is computed against)."""
        return self.text.tgt

    @property
    def held_out(self) -> str | None:
        return self.text.held_out


def build_subwords(text: ParallelData, cfg: NMTConfig) -> tuple[Subwords, Subwords]:
    """Learned on the training split only: valid and test text never shapes the vocabulary."""
    if cfg.vocab == "joint":
        joint = Subwords(train_subwords([*text.src["train"], *text.tgt["train"]], cfg.vocab_size, "training text"))
        return joint, joint
    src = Subwords(train_subwords(text.src["train"], cfg.vocab_size, "source training text"))
    tgt = Subwords(train_subwords(text.tgt["train"], cfg.vocab_size, "target training text"))
    return src, tgt


def encode_data(
    text: ParallelData, src_sp: Subwords, tgt_sp: Subwords, src_lang: str, tgt_lang: str, store_references: bool = False
) -> NMTData:
    src = {split: src_sp.encode(lines) for split, lines in text.src.items()}
    tgt = {split: tgt_sp.encode(lines) for split, lines in text.tgt.items()}
    return NMTData(src_sp, tgt_sp, src, tgt, text, src_lang, tgt_lang, store_references)


def save_subwords(data: NMTData, run: RunDir) -> None:
    if data.joint:
        data.src_sp.save(run.path / JOINT_SUBWORD_MODEL)
    else:
        data.src_sp.save(run.path / SRC_SUBWORD_MODEL)
        data.tgt_sp.save(run.path / TGT_SUBWORD_MODEL)


def load_subwords(run_dir: str | Path) -> tuple[Subwords, Subwords]:
    run_dir = Path(run_dir)
    if (run_dir / JOINT_SUBWORD_MODEL).is_file():
        joint = Subwords.load(run_dir / JOINT_SUBWORD_MODEL)
        return joint, joint
    return Subwords.load(run_dir / SRC_SUBWORD_MODEL), Subwords.load(run_dir / TGT_SUBWORD_MODEL)


def make_batches(src: list[list[int]], tgt: list[list[int]], cfg: NMTConfig) -> list[np.ndarray]:
    """Pairs sorted by length and cut into batches of at most ``batch_tokens`` padded source + target tokens, so
    a batch wastes little on padding. Pairs longer than ``max_len`` pieces are left out."""
    lengths = np.array([(len(s) + 1, len(t) + 1) for s, t in zip(src, tgt)], dtype=np.int64)
    keep = np.flatnonzero((lengths[:, 0] <= cfg.max_len) & (lengths[:, 1] <= cfg.max_len))
    order = keep[np.lexsort((lengths[keep, 0], lengths[keep, 1]))]
    batches, current, widest = [], [], (0, 0)
    for i in order:
        w = (max(widest[0], lengths[i, 0]), max(widest[1], lengths[i, 1]))
        if current and (len(current) + 1) * (w[0] + w[1]) > cfg.batch_tokens:
            batches.append(np.array(current))
            current, w = [], (lengths[i, 0], lengths[i, 1])
        current.append(i)
        widest = w
    if current:
        batches.append(np.array(current))
    return batches


def teacher_forcing(
    src: list[list[int]], tgt: list[list[int]], index: Iterable[int], max_len: int, device: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded (source + </s>, <s> + target, target + </s>) for the pairs in ``index``, each side cut to ``max_len``."""
    return (
        pad_batch([src[i][: max_len - 1] + [EOS] for i in index], device),
        pad_batch([[BOS] + tgt[i][:max_len] for i in index], device),
        pad_batch([tgt[i][:max_len] + [EOS] for i in index], device),
    )


def epoch_order(n_batches: int, seed: int, epoch: int) -> list[int]:
    """The batches' order in one epoch: a function of the seed and the epoch only, so a resumed run sees the same."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n_batches, generator=generator).tolist()


def make_optimizer(model: Seq2Seq, cfg: NMTConfig) -> torch.optim.Optimizer:
    embeddings = (model.source_embedding(), model.input_embedding(), model.output_embedding())
    return base.adamw(model, embeddings, cfg.lr, cfg.weight_decay, cfg.beta2)


def learning_rate(cfg: NMTConfig, step: int, total_steps: int) -> float:
    if cfg.schedule == "inverse-sqrt":  # Vaswani et al.: linear warm-up, then lr x sqrt(warmup / step)
        if step < cfg.warmup:
            return cfg.lr * (step + 1) / cfg.warmup
        return cfg.lr * math.sqrt(max(cfg.warmup, 1) / (step + 1))
    return cosine_learning_rate(cfg, step, total_steps)  # type: ignore[arg-type]  (same fields)


def bleu_and_chrf(hypotheses: list[str], references: list[str]) -> dict[str, Any]:
    """Cased sacreBLEU (13a tokenisation, as WMT reports it) and chrF, with their signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    bleu, chrf = BLEU(), CHRF()
    b = bleu.corpus_score(hypotheses, [references])
    c = chrf.corpus_score(hypotheses, [references])
    return {"bleu": round(b.score, 2), "chrf": round(c.score, 2), "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature()), "bleu_detail": str(b)}  # fmt: skip


class _Cost(torch.nn.Module):
    """Label-smoothed cross-entropy *summed* over one process's share of a batch, and its NLL and token count, as a
    module's forward so DistributedDataParallel can wrap it."""

    def __init__(self, model: Seq2Seq, label_smoothing: float):
        super().__init__()
        self.model, self.label_smoothing = model, label_smoothing

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor) -> tuple[torch.Tensor, float]:
        logits = self.model(src, tgt_in)
        flat, gold = logits.view(-1, logits.size(-1)), tgt_out.view(-1)
        loss = F.cross_entropy(flat, gold, ignore_index=PAD, label_smoothing=self.label_smoothing, reduction="sum")
        with torch.no_grad():
            nll = F.cross_entropy(flat, gold, ignore_index=PAD, reduction="sum").item()
        return loss, nll


class NMTTrainer(Interruptible):
    """One translation run, step by step: ``steps()`` yields after every optimizer step (see LMTrainer)."""

    @staticmethod
    def check_tracked_pair(untied: NMTConfig, tied: NMTConfig) -> None:
        """The tracker records the decoder's U and V against its S, so a pair ties the decoder only."""
        if tied.tie != "decoder":
            raise EmbedevalError(
                "a tracked translation pair is tie none vs tie decoder (the decoder's U and V against S)"
            )

    def __init__(
        self,
        cfg: NMTConfig,
        data: NMTData,
        run: RunDir,
        resume: bool = False,
        model_hook: Callable[[Seq2Seq], None] | None = None,
    ) -> None:
        validate(cfg)
        if cfg.tie == "all" and not data.joint:
            raise EmbedevalError("--tie all needs one joint subword vocabulary (--vocab joint)")
        self.cfg, self.data, self.run = cfg, data, run
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.batches = make_batches(data.src["train"], data.tgt["train"], cfg)
        if not self.batches:
            raise EmbedevalError(f"no training pair is at most --max-len {cfg.max_len} pieces long: raise --max-len")
        self.world = distributed.world()  # rank 0 of 1 outside torchrun; only rank 0 writes files
        smallest = min(len(b) for b in self.batches)
        if smallest < self.world.size:
            raise EmbedevalError(
                f"a batch of {smallest} sentence pair(s) cannot be shared by {self.world.size} processes: raise "
                "--batch-tokens or use fewer processes"
            )
        target_rows = max(len(b) * (max(len(data.tgt["train"][i]) for i in b) + 1) for b in self.batches)
        base.check_logits_fit(target_rows, len(data.tgt_sp), cfg.device, "use a smaller --batch-tokens or --max-len")
        self.model = model = Seq2Seq(len(data.src_sp), len(data.tgt_sp), cfg).to(cfg.device)  # tied before wrapping
        self.cost = _Cost(model, cfg.label_smoothing)
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            self.cost = DistributedDataParallel(self.cost)  # broadcasts rank 0's initial weights to every rank
        if self.world.main:
            run.publish()  # inputs are good and the model is built: now the run may replace an old one
            if not resume:
                run.ensure_config(cfg, "nmt")
                if not (
                    run.path / (JOINT_SUBWORD_MODEL if data.joint else TGT_SUBWORD_MODEL)
                ).exists():  # started from Python
                    save_subwords(data, run)
        if model_hook is not None:
            model_hook(model)
        self.optimizer = make_optimizer(model, cfg)
        self.epoch, self.batch, self.history = 0, 0, []
        self.partial = (0.0, 0.0, 0)  # smoothed loss, NLL and target tokens of the epoch so far
        if resume:
            run.check_resume_config(cfg)
            self._restore()
        self.random = OwnRandomState(cfg.device)  # from here on, dropout draws from this run's own stream
        self.counts = model.parameter_counts()
        if self.world.main:
            run.summary("incomplete", **self.counts, config=dataclasses.asdict(cfg))
        self.n_batches = len(self.batches) if not cfg.max_batches else min(len(self.batches), cfg.max_batches)
        self.step = self.epoch * self.n_batches + self.batch
        self.total_steps = cfg.epochs * self.n_batches
        self.summary: dict[str, Any] | None = None

    @property
    def ckpt_path(self) -> Path:
        return self.run.path / CHECKPOINT

    def _set_lr(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr()

    def tracked_vocabulary(self) -> tuple[list[str], Any]:
        """The rows the dynamics records follow: the target pieces (the decoder's rows), shown as words."""
        vocab = subword_vocab(self.data)
        return vocab.words, vocab.counts

    def lr(self) -> float:
        return learning_rate(self.cfg, self.step, self.total_steps)

    def _restore(self) -> None:
        state = base.load_checkpoint(self.ckpt_path, CHECKPOINT_KEYS)
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["torch_rng"])
        except (RuntimeError, ValueError, KeyError, TypeError) as err:
            raise EmbedevalError(
                f"the checkpoint does not fit this model ({str(err).splitlines()[0][:200]}); resume with the run's own "
                "settings, or start again with --overwrite",
                self.ckpt_path,
            ) from None
        self.epoch, self.batch, self.history = state["epoch"], state["batch"], state["history"]
        if self.world.main:  # the epoch so far over all processes: counted once, by rank 0
            self.partial = tuple(state.get("partial", (0.0, 0.0, 0)))

    def _cost(self, index: np.ndarray) -> tuple[torch.Tensor, float, float, int]:
        """(cost, summed smoothed loss, summed NLL, target tokens) of this process's share of one batch. The cost is divided by the whole
        batch's target tokens (known to every process: each holds the batch's index) and multiplied by the process
        count, so DistributedDataParallel's mean over processes is the single-process per-token loss."""
        data, cfg, w = self.data, self.cfg, self.world
        all_tokens = sum(len(data.tgt["train"][i]) + 1 for i in index)
        mine = np.array_split(index, w.size)[w.rank]  # a contiguous block of the batch's pairs
        # training pairs are at most max_len pieces with </s> (make_batches), so nothing is cut here
        src, tgt_in, tgt_out = teacher_forcing(data.src["train"], data.tgt["train"], mine, cfg.max_len, cfg.device)
        loss, nll = self.cost(src, tgt_in, tgt_out)
        return loss * w.size / all_tokens, loss.item(), nll, int((tgt_out != PAD).sum())

    ADVICE = "lower --lr"  # what the non-finite guard suggests
    PROGRESS_EVERY = 20  # batches between progress reports
    EMPTY_SUMS = (0.0, 0.0, 0)  # an epoch's summed smoothed loss, NLL and target tokens

    def steps(self, progress: Callable[[dict[str, Any]], None] | None = None) -> Iterator[int]:
        return base.batch_epochs(self, progress)

    def start_epoch(self) -> None:
        self.model.train()
        self.order = epoch_order(len(self.batches), self.cfg.seed, self.epoch)[: self.n_batches]

    def step_lr(self) -> None:
        self._set_lr()

    def train_batch(self) -> tuple[torch.Tensor, tuple[float, float, int]]:
        with self.random.active():
            cost, loss, nll, n = self._cost(self.batches[self.order[self.batch]])
        return cost, (loss, nll, n)  # this process's share

    def end_epoch(self, sums: tuple[float, float, int], tokens_at_start: int, elapsed: float) -> dict | None:
        if not self.world.main:  # the others go on and wait for it at the next step's gradient exchange
            return None
        loss_sum, nll_sum, tokens = sums
        record = {
            "epoch": self.epoch + 1,
            "lr": self.optimizer.param_groups[0]["lr"],  # the last step's
            "train_loss": loss_sum / max(tokens, 1),
            "train_ppl": nll_to_ppl(nll_sum / max(tokens, 1)),
            "valid_ppl": self.perplexity("valid"),
            **{f"valid_{k}": v for k, v in self.score("valid", beam=1).items() if k in ("bleu", "chrf")},
            "tokens_per_s": (tokens - tokens_at_start) / max(elapsed, 1e-9),
            "seconds": elapsed,
            "step": self.step,
        }
        check_finite_epoch(record, self.run)
        return record

    def finish(self) -> None:
        if not self.world.main:
            self.summary = {}
            return
        self.summary = self.final_summary()
        if self.world.distributed:
            self.summary["processes"] = self.world.size
        self.run.summary("complete", **self.summary)

    @torch.no_grad()
    def perplexity(self, split: str) -> float:
        """Target perplexity (per piece, </s> included) under teacher forcing."""
        self.model.eval()
        src, tgt = self.data.src[split], self.data.tgt[split]
        limit = self.cfg.max_eval_sentences or len(src)
        total, count = 0.0, 0
        for start in range(0, min(len(src), limit), 64):
            idx = range(start, min(start + 64, len(src), limit))
            s, t_in, t_out = teacher_forcing(src, tgt, idx, self.cfg.max_len, self.cfg.device)
            logits = self.model(s, t_in)
            total += F.cross_entropy(
                logits.view(-1, logits.size(-1)), t_out.view(-1), ignore_index=PAD, reduction="sum"
            ).item()
            count += int((t_out != PAD).sum())
        self.model.train()
        return nll_to_ppl(total / max(count, 1))

    def hypotheses(self, split: str, beam: int) -> list[str]:
        limit = self.cfg.max_eval_sentences or len(self.data.src[split])
        ids = translate(self.model, self.data.src[split][:limit], self.cfg.max_len, beam, self.cfg.len_penalty,
                        device=self.cfg.device)  # fmt: skip
        return self.data.tgt_sp.decode(ids)

    def score(self, split: str, beam: int) -> dict[str, Any]:
        hyps = self.hypotheses(split, beam)
        return bleu_and_chrf(hyps, self.data.references[split][: len(hyps)]) | {"hypotheses": hyps}

    def final_summary(self) -> dict[str, Any]:
        cfg = self.cfg
        test = self.score("test", cfg.beam)
        valid = self.score("valid", cfg.beam)
        for split, result in (("test", test), ("valid", valid)):
            text = "".join(h + "\n" for h in result.pop("hypotheses"))
            atomic_write_text(self.run.path / {"valid": VALID_HYP, "test": TEST_HYP}[split], text)
        if self.data.store_references:
            refs = self.data.references["test"][: cfg.max_eval_sentences or None]
            atomic_write_text(self.run.path / TEST_REF, "".join(r + "\n" for r in refs))
        summary = {
            "test_bleu": test["bleu"],
            "test_chrf": test["chrf"],
            "valid_bleu": valid["bleu"],
            "valid_chrf": valid["chrf"],
            "bleu_signature": test["bleu_signature"],
            "chrf_signature": test["chrf_signature"],
            "test_bleu_detail": test["bleu_detail"],
            "decoding": f"beam {cfg.beam}, length penalty {cfg.len_penalty:g}",
            "valid_ppl": self.history[-1]["valid_ppl"] if self.history else self.perplexity("valid"),
            "test_ppl": self.perplexity("test"),
            "test_sentences": len(self.data.src["test"]) if not cfg.max_eval_sentences else cfg.max_eval_sentences,
            "epochs": cfg.epochs,
            "language_pair": f"{self.data.src_lang}-{self.data.tgt_lang}",
            **self.counts,
        }
        if self.data.held_out:
            summary["held_out"] = self.data.held_out
        return summary

    def checkpoint(self) -> None:
        """Every process calls this (the epoch so far is summed over them); rank 0 writes."""
        partial = distributed.sum_over_ranks(list(self.partial), self.world)
        if not self.world.main:
            return
        with self.random.active():
            self._checkpoint(partial)

    def _checkpoint(self, partial: list[float]) -> None:
        state = {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "batch": self.batch,
            "torch_rng": torch.get_rng_state(),
            "history": self.history,
            "partial": partial,
        }
        with base.stop_when_disk_full():
            atomic_write(self.ckpt_path, lambda tmp: torch.save(state, tmp))
            export_embeddings(self.model, self.data, self.run, self.cfg)


def train_nmt(
    cfg: NMTConfig,
    data: NMTData,
    run: RunDir,
    resume: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    hooks: StepHooks | None = None,
) -> dict[str, Any]:
    """Train, checkpoint each epoch (and on a signal), score the test set, export embeddings; return the summary."""
    return train(NMTTrainer, cfg, data, run, resume, progress, hooks)


# --- exports -------------------------------------------------------------------------------------------------


def english_side(data: NMTData) -> tuple[str, Subwords]:
    """The side whose words the (English) similarity benchmarks can score: English if either language is, else
    the source."""
    if data.tgt_lang == "en" and data.src_lang != "en":
        return "tgt", data.tgt_sp
    return "src", data.src_sp


def export_embeddings(model: Seq2Seq, data: NMTData, run: RunDir, cfg: NMTConfig) -> None:
    """``subwords/<role>.npz``: every piece's row; ``embeddings/<role>.npz``: the word view that ``eval`` scores.

    Roles: source (E), input (U), output (V), tied (U = V, or E = U = V under tie=all). The word view holds the
    words of the English side's training text (the benchmarks are English) that are one subword piece, when that
    piece also occurs in the text its matrix was trained on (the source side for E, the target side for U and V,
    either for E = U = V): a row that never met its training signal is still at its random start, only noise."""
    from embedeval.embeddings.formats import write

    name = model_name("nmt", dataclasses.asdict(cfg))
    mats = {"source": model.source_embedding(), "input": model.input_embedding(), "output": model.output_embedding()}
    if cfg.tie == "decoder":
        mats = {"source": mats["source"], "tied": mats["input"]}
    elif cfg.tie == "all":
        mats = {"tied": mats["input"]}
    side, side_sp = english_side(data)
    lang = data.src_lang if side == "src" else data.tgt_lang
    words = word_types((data.text.src if side == "src" else data.text.tgt)["train"])
    seen_src = data.src_sp.counts(data.src["train"]) > 0
    seen_tgt = data.tgt_sp.counts(data.tgt["train"]) > 0
    seen_side = seen_src if side == "src" else seen_tgt
    (run.path / SUBWORDS).mkdir(exist_ok=True)
    for role, weight in mats.items():
        matrix = weight.detach().cpu().numpy()
        sp = data.src_sp if role == "source" else data.tgt_sp
        meta = {"tie": cfg.tie, "vocabulary": "joint" if data.joint else ("source" if role == "source" else "target")}
        write(
            Embedding(sp.pieces, matrix, role=role, model=name, meta=meta), run.path / SUBWORDS / f"{role}.npz", "npz"
        )
        if sp is not side_sp:
            continue  # this matrix's rows are the other language's pieces: nothing a benchmark can score
        trained = seen_src if role == "source" else (seen_src | seen_tgt if cfg.tie == "all" else seen_tgt)
        view_words, rows = single_piece_view(matrix, sp, words, seen_side & trained)
        if not view_words:
            continue
        view = {**meta, "language": lang,
                "view": f"words of the {lang} training text that are one subword piece its matrix was trained on"}  # fmt: skip
        run.save_embedding(role, Embedding(view_words, rows, role=role, model=name, meta=view))


def subword_vocab(data: NMTData) -> Vocab:
    """The target pieces with their training counts, for the dynamics tracker (frequency buckets, scores): a piece
    that begins a word is shown as the word (``▁dog`` -> ``dog``, so benchmarks find it), one inside a word as
    ``##piece`` (so ``▁in`` and the ``in`` of ``walk|in|g`` stay apart)."""
    shown = [p if i < 4 else (p[1:] if p.startswith(WORD_START) and len(p) > 1 else "##" + p)
             for i, p in enumerate(data.tgt_sp.pieces)]  # fmt: skip
    return Vocab(shown, data.tgt_sp.counts(data.tgt["train"]))


def tiny_setup(corpus: Any, folder: Path) -> tuple[dict[bool, NMTConfig], NMTData]:
    """The check suite's setup (embedeval.testing): a tiny translation pair (tie none, tie decoder) on 120 sentence
    pairs written into ``folder``, with dropout so that the checks see the random streams too."""
    from embedeval.data.parallel import from_files, load_parallel
    from embedeval.train.nmt_config import make_config

    src, tgt = Path(folder) / "s.en", Path(folder) / "s.de"
    src.write_text("".join(f"a man walks his dog number {i % 7}\n" for i in range(120)), encoding="utf-8")
    tgt.write_text("".join(f"ein mann führt seinen hund nummer {i % 7}\n" for i in range(120)), encoding="utf-8")
    text = load_parallel(from_files("en", "de", (str(src), str(tgt))))
    cfgs = {tied: make_config("nmt-tiny", tie, threads=1, vocab_size=50, max_batches=4, epochs=2, dropout=0.1,
                              max_eval_sentences=3) for tied, tie in ((False, "none"), (True, "decoder"))}  # fmt: skip
    src_sp, tgt_sp = build_subwords(text, cfgs[False])
    return cfgs, encode_data(text, src_sp, tgt_sp, "en", "de")
