"""Rebuild a trained model from its run folder: ``load_model(run_dir)`` -> the torch model with its vocabulary.

The folder says everything needed: ``config.json`` (which trainer, every setting), ``checkpoint.pt`` (the weights,
loaded with ``weights_only=True``: tensors and numbers, never code) and the vocabulary (``vocab.tsv``, or the
translation run's subword models). The model comes back on the CPU in eval mode; a tied model has one tensor for
U and V, as it had while training.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from embedeval import trainers
from embedeval.errors import EmbedevalError
from embedeval.layout import CHECKPOINT, CONFIG, VOCAB
from embedeval.rundir import read_run_file


@dataclass
class TrainedModel:
    """A run's model, its vocabulary (the row order of its embeddings) and its settings."""

    model: torch.nn.Module
    vocab: list[str]  # LM and skip-gram: words; translation: the target side's subword pieces
    config: Any  # the trainer's config dataclass
    trainer: str  # lm | nmt | skipgram
    epoch: int  # epochs finished when the checkpoint was written
    source_vocab: list[str] | None = None  # translation: the source side's pieces

    @property
    def tied(self) -> bool:
        return self.config.tied


class SkipGramModel(torch.nn.Module):
    """The torch skip-gram's two matrices as a module: ``input`` (U) and ``output`` (V), one tensor when tied."""

    def __init__(self, u: torch.Tensor, v: torch.Tensor | None):
        super().__init__()
        self.input = torch.nn.Embedding.from_pretrained(u, freeze=False)
        self.output = self.input if v is None else torch.nn.Embedding.from_pretrained(v, freeze=False)

    def input_embedding(self) -> torch.Tensor:
        return self.input.weight

    def output_embedding(self) -> torch.Tensor:
        return self.output.weight

    def forward(self, context: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """The logit of ``words`` given ``context`` (u_context . v_word), as the training loss scores a pair."""
        return (self.input(context) * self.output(words)).sum(-1)


def load_model(run_dir: str | Path) -> TrainedModel:
    """The trained model of ``run_dir`` with its vocabulary, ready for inference (``model.eval()`` on the CPU)."""
    from embedeval.train.base import load_checkpoint

    run = Path(run_dir)
    if not run.is_dir():
        raise EmbedevalError("not a folder: give the run folder that `embedeval train` wrote", run)
    stored = read_run_file(run / CONFIG, "config.json")
    if not stored or not isinstance(stored.get("config"), dict):
        raise EmbedevalError("no config.json with the run's settings: not a run folder embedeval wrote", run)
    trainer = stored.get("trainer")
    spec = trainers.find(trainer)
    if spec is None or not spec.rebuild:
        known_names = ", ".join(s.name for s in trainers.specs() if s.rebuild)
        raise EmbedevalError(f"config.json names trainer {trainer!r}; known: {known_names}", run / CONFIG)
    config_class = spec.config_class()
    known = {f.name for f in dataclasses.fields(config_class)}
    try:
        cfg = config_class(**{k: v for k, v in stored["config"].items() if k in known})
        checked = trainers.load_function(spec.check_config) if spec.check_config else None
        if checked is not None:
            checked(cfg)  # the ranges of every setting, before a model of that size is built
    except EmbedevalError as err:
        raise EmbedevalError(f"config.json holds a setting no run could have: {err.message}", run / CONFIG) from None
    except (TypeError, ValueError) as err:
        raise EmbedevalError(f"config.json is damaged ({err})", run / CONFIG) from None
    build = trainers.load_function(spec.rebuild)
    if getattr(cfg, "backend", "torch") != "torch":
        raise EmbedevalError(
            "a gensim skip-gram run keeps no torch model; read its U and V with ee.load(run_dir) instead", run
        )
    state = load_checkpoint(run / CHECKPOINT, ("model", "epoch"))
    model, vocab, source_vocab = build(run, cfg, state["model"])
    model.eval()
    return TrainedModel(model, vocab, cfg, trainer, int(state["epoch"]), source_vocab)


def rebuild_lm(run: Path, cfg: Any, weights: dict[str, torch.Tensor]) -> tuple[torch.nn.Module, list[str], None]:
    from embedeval.data.corpus import Vocab
    from embedeval.train.lm_model import build_model

    vocab = Vocab.load(run / VOCAB)
    model = build_model(len(vocab), dataclasses.replace(cfg, device="cpu"))
    _load_weights(model, weights, run)
    return model, vocab.words, None


def rebuild_nmt(run: Path, cfg: Any, weights: dict[str, torch.Tensor]) -> tuple[torch.nn.Module, list[str], list[str]]:
    from embedeval.train.nmt import load_subwords
    from embedeval.train.nmt_model import Seq2Seq

    src, tgt = load_subwords(run)
    model = Seq2Seq(len(src), len(tgt), dataclasses.replace(cfg, device="cpu"))
    _load_weights(model, weights, run)
    return model, tgt.pieces, src.pieces


def rebuild_skipgram(run: Path, cfg: Any, weights: dict[str, torch.Tensor]) -> tuple[torch.nn.Module, list[str], None]:
    from embedeval.data.corpus import Vocab

    vocab = Vocab.load(run / VOCAB)
    u, v = weights.get("u"), weights.get("v")
    if u is None or u.shape[0] != len(vocab) or (not cfg.tie and v is None):
        raise EmbedevalError("the checkpoint does not hold this run's U and V (damaged run?)", run / CHECKPOINT)
    return SkipGramModel(u, None if cfg.tie else v), vocab.words, None


def _load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], run: Path) -> None:
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise EmbedevalError(
            f"the checkpoint does not fit the model config.json describes ({first[:200]})", run / CHECKPOINT
        ) from None


__all__ = ["SkipGramModel", "TrainedModel", "load_model", "rebuild_lm", "rebuild_nmt", "rebuild_skipgram"]
