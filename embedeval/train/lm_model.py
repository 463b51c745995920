"""The LSTM language model, with every tying variant in one readable class.

U = ``encoder.weight`` (C x E), V = ``decoder.weight`` (C x E). Tied variants make them **one**
Parameter: ``parameters()`` yields it once, the state_dict holds it under both names, and
``load_state_dict`` copies into the shared storage, so the tie survives save/load and ``.to()``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from embedeval.train.base import parameter_counts, tapped, tie
from embedeval.train.fused_loss import KERNEL, linear_cross_entropy
from embedeval.train.lm_config import LMConfig


class LockedDropout(nn.Module):
    """Variational dropout: one mask per sequence in the batch, the same at every time step."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (time, batch, features)
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(1, x.size(1), x.size(2)).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask


class EmbeddingLM(nn.Module):
    """What every language model here shares: U = ``encoder.weight``, V = ``decoder.weight`` (one Parameter when
    tied), logits through V, the hook that reports each side's gradient of the embedding, and parameter counts.

    A subclass builds ``encoder``, ``decoder`` (tied after initialisation) and implements ``features`` and
    ``init_hidden``; the trainer, the exports and the dynamics tracker need nothing else.
    """

    encoder: nn.Embedding
    decoder: nn.Linear

    def __init__(self) -> None:
        super().__init__()
        self.grad_hook: Callable[[str, torch.Tensor], None] | None = None
        self.projection: nn.Module | None = None  # P&W's projection before V (LSTM pr / wt+pr only)

    def input_embedding(self) -> torch.Tensor:
        """U (the tied S when tied), C x E, as in Hugging Face's ``get_input_embeddings()``."""
        return self.encoder.weight

    def output_embedding(self) -> torch.Tensor:
        """V (the same tensor as U when tied), as in ``get_output_embeddings()``."""
        return self.decoder.weight

    def more_outputs(self) -> dict[str, nn.Linear]:
        """Output layers besides V that the run exports, by role (a biLM's backward softmax when it has its own)."""
        return {}

    def _split_weight(self, role: str) -> torch.Tensor:
        """The embedding matrix as seen by one side; with a hook, that side's gradient is reported."""
        return tapped(self.encoder.weight if role == "input" else self.decoder.weight, role, self.grad_hook)

    def features(self, tokens: torch.Tensor, hidden: list) -> tuple[torch.Tensor, list]:
        """Top-layer outputs for (time, batch) token ids, and the state to carry to the next batch."""
        raise NotImplementedError

    def init_hidden(self, batch_size: int) -> list:
        raise NotImplementedError

    def training_nll(
        self, x: torch.Tensor, y: torch.Tensor, hidden: list
    ) -> tuple[torch.Tensor, torch.Tensor, list] | None:
        """A model whose training cost is more than next-token cross-entropy (a biLM's two directions) returns
        (summed cross-entropy to train on, summed cross-entropy to report, new state); None: the trainer's own."""
        return None

    def direction_perplexities(self, ids: torch.Tensor, window: int, max_tokens: int | None = None) -> dict | None:
        """A model that reads the text in more than one direction: each direction's perplexity over ``ids``
        (the trainer adds them to the summary as ``direction_ppl``); None for one direction."""
        return None

    def logits(self, features: torch.Tensor, bias: bool = True) -> torch.Tensor:
        use_bias = self.decoder.bias if bias else None
        return F.linear(features, self._split_weight("output"), use_bias)

    def cross_entropy(
        self, features: torch.Tensor, targets: torch.Tensor, chunk: int, kernel: int = KERNEL
    ) -> torch.Tensor:
        """Summed cross-entropy of ``targets`` under the logits of ``features``, fused with the output layer in
        blocks of ``chunk`` rows (0: unfused) with softmax ``kernel``; the output side's gradient goes through the
        tap as in ``logits``."""
        weight = self._split_weight("output")
        return linear_cross_entropy(features, weight, self.decoder.bias, targets, chunk, kernel)

    def forward(self, tokens: torch.Tensor, hidden: list) -> tuple[torch.Tensor, list]:
        x, hidden = self.features(tokens, hidden)
        return self.logits(x), hidden

    def parameter_counts(self) -> dict[str, int]:
        """Unique parameters (the tied matrix once) and state_dict entries (the tied matrix twice)."""
        return parameter_counts(self)


class RNNLM(EmbeddingLM):
    def __init__(self, vocab_size: int, cfg: LMConfig):
        super().__init__()
        self.cfg = cfg
        e, h = cfg.embedding_size, cfg.hidden
        p = 1.0 - cfg.keep_prob
        self.encoder = nn.Embedding(vocab_size, e)
        self.drop = LockedDropout(p) if cfg.variational else (nn.Dropout(p) if p > 0 else nn.Identity())
        if cfg.variational:
            # one LSTM per layer so the locked mask sits between layers
            self.rnns = nn.ModuleList(nn.LSTM(e if i == 0 else h, h) for i in range(cfg.layers))
        else:
            # one fused stack (faster); nn.LSTM's own dropout sits between layers, as in Zaremba
            self.rnns = nn.ModuleList([nn.LSTM(e, h, cfg.layers, dropout=p if cfg.layers > 1 else 0.0)])
        out_in = h
        self.projection = nn.Linear(h, e, bias=cfg.pr_bias) if cfg.projection else None
        if self.projection is None and e != h:
            self.bridge = nn.Linear(h, e, bias=False)  # untied with emb_size != hidden
            out_in = e
        else:
            self.bridge = None
            out_in = e if self.projection is not None else h
        self.decoder = nn.Linear(out_in, vocab_size, bias=cfg.output_bias)
        self.reset_parameters()
        if cfg.tied:
            tie(self.decoder, "weight", self.encoder.weight)  # one tensor, initialised once

    def reset_parameters(self) -> None:
        s = self.cfg.init_scale
        for param in self.parameters():
            nn.init.uniform_(param, -s, s)
        if self.cfg.arch_options.get("bias") == "tf":
            # TensorFlow's BasicLSTMCell has one bias per layer, initialised to 0, and adds forget_bias (0 in
            # Zaremba's and P&W's code). nn.LSTM adds b_ih + b_hh: b_ih is that one bias, b_hh stays 0 and frozen
            for rnn in self.rnns:
                for name, param in rnn.named_parameters():
                    if name.startswith("bias_"):
                        nn.init.zeros_(param)
                    if name.startswith("bias_hh"):
                        param.requires_grad_(False)

    def init_hidden(self, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        weight = self.encoder.weight
        h = self.cfg.hidden
        return [
            (weight.new_zeros(rnn.num_layers, batch_size, h), weight.new_zeros(rnn.num_layers, batch_size, h))
            for rnn in self.rnns
        ]

    def features(self, tokens: torch.Tensor, hidden: list) -> tuple[torch.Tensor, list]:
        """Top-layer outputs (after dropout, projection) for (time, batch) token ids."""
        x = self.drop(F.embedding(tokens, self._split_weight("input")))
        new_hidden = []
        for rnn, state in zip(self.rnns, hidden):
            x, state = rnn(x, state)
            x = self.drop(x)
            new_hidden.append(state)
        if self.projection is not None:
            x = self.projection(x)
        elif self.bridge is not None:
            x = self.bridge(x)
        return x, new_hidden


def strip_compile_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``torch.compile`` wraps the model and prefixes every key with ``_orig_mod.``."""
    return {k.removeprefix("_orig_mod."): v for k, v in state.items()}


def build_model(vocab_size: int, cfg: LMConfig) -> EmbeddingLM:
    """The model class registered for ``cfg.arch`` (:func:`embedeval.trainers.register_arch`). A new language model
    is one module with an EmbeddingLM subclass, plus its registration."""
    from embedeval import trainers

    return trainers.arch(cfg.arch).model_class()(vocab_size, cfg)
