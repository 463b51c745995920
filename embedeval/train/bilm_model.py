"""An ELMo-style bidirectional LSTM language model (Peters et al. 2018), ``arch="bilstm"``.

One token embedding U feeds two LSTM stacks: the forward one predicts the next token, the backward one (reading the
text right to left) the previous token. What ELMo ties is the token representation and the softmax *between the two
directions*, not the softmax and the input embedding. The setting ``softmax`` (``--bilm-softmax``) chooses:

- ``separate``: each direction has its own softmax (V for the forward one, ``decoder_bwd`` for the backward one,
  exported as the role ``output-backward``);
- ``shared``: one softmax V for both directions (ELMo);
- ``shared`` with variant ``wt``: that one softmax is also the input embedding (V = U = S).

The forward direction carries its state across training windows, as every LM here does; the backward direction
starts each window from zero (carrying its state would need the text that comes *after* the window). The training
cost is the sum of both directions' cross-entropies; the perplexity the trainer reports (valid, test) is the forward
direction's, comparable with a left-to-right LM, and :meth:`BiLSTMLM.direction_perplexities` adds both directions'
on the summary.

This module and its registration in :mod:`embedeval.trainers` (name, presets, variants, the softmax setting, this
module's :func:`check_config`) are all the biLM is: the trainer, exports, tracker, report and check suite take it
through the hooks every :class:`~embedeval.train.lm_model.EmbeddingLM` has.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from embedeval.errors import EmbedevalError
from embedeval.train.base import tie
from embedeval.train.fused_loss import linear_cross_entropy
from embedeval.train.lm_config import LMConfig
from embedeval.train.lm_model import EmbeddingLM


def check_config(cfg: LMConfig) -> None:
    """Settings the biLM cannot train (its registration names this check)."""
    if cfg.tied and cfg.arch_options.get("softmax") != "shared":
        raise EmbedevalError(
            "variant wt ties the biLM's softmax to its input embedding, which needs one softmax for both "
            "directions: use --bilm-softmax shared"
        )
    if cfg.variational:
        raise EmbedevalError("--variational (locked dropout) is for the one-directional LSTM")


class BiLSTMLM(EmbeddingLM):
    def __init__(self, vocab_size: int, cfg: LMConfig):
        super().__init__()
        self.cfg = cfg
        e, h = cfg.embedding_size, cfg.hidden
        p = 1.0 - cfg.keep_prob
        self.encoder = nn.Embedding(vocab_size, e)
        self.drop = nn.Dropout(p) if p > 0 else nn.Identity()
        stack = lambda: nn.LSTM(e, h, cfg.layers, dropout=p if cfg.layers > 1 else 0.0)  # noqa: E731
        self.forward_rnn, self.backward_rnn = stack(), stack()
        self.decoder = nn.Linear(h, vocab_size, bias=cfg.output_bias)
        shared = cfg.arch_options.get("softmax", "shared") == "shared"
        self.decoder_bwd = self.decoder if shared else nn.Linear(h, vocab_size, bias=cfg.output_bias)
        for param in self.parameters():
            nn.init.uniform_(param, -cfg.init_scale, cfg.init_scale)
        if cfg.tied:
            tie(self.decoder, "weight", self.encoder.weight)  # shared softmax = input embedding: one tensor

    def more_outputs(self) -> dict[str, nn.Linear]:
        """The backward direction's own softmax (separate softmax), exported as ``output-backward``."""
        return {} if self.decoder_bwd is self.decoder else {"output-backward": self.decoder_bwd}

    def init_hidden(self, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        zeros = self.encoder.weight.new_zeros(self.cfg.layers, batch_size, self.cfg.hidden)
        return [(zeros, zeros.clone())]

    def features(self, tokens: torch.Tensor, hidden: list) -> tuple[torch.Tensor, list]:
        """The forward direction's top-layer outputs (what ``forward`` and the trainer's evaluation use)."""
        return self._forward_direction(tokens, hidden, self._split_weight("input"))

    def _forward_direction(self, tokens: torch.Tensor, hidden: list, u: torch.Tensor) -> tuple[torch.Tensor, list]:
        out, state = self.forward_rnn(self.drop(F.embedding(tokens, u)), hidden[0])
        return self.drop(out), [state]

    def _backward_direction(self, tokens: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Outputs in the tokens' order: output t has read tokens t..end of the window, right to left."""
        out, _ = self.backward_rnn(self.drop(F.embedding(tokens.flip(0), u)))
        return self.drop(out).flip(0)

    def training_nll(self, x: torch.Tensor, y: torch.Tensor, hidden: list) -> tuple[torch.Tensor, torch.Tensor, list]:
        """The cost is both directions' cross-entropy; the one reported (train perplexity) is the forward one."""
        forward, backward, hidden = self.bidirectional_nll(x, y, hidden)
        return forward + backward, forward.detach(), hidden

    def bidirectional_nll(
        self, x: torch.Tensor, y: torch.Tensor, hidden: list
    ) -> tuple[torch.Tensor, torch.Tensor, list]:
        """(forward summed cross-entropy, backward summed cross-entropy, the forward state) for a window:
        ``x`` = tokens 0..T-1, ``y`` = tokens 1..T. Forward: x predicts y. Backward: reading y right to left, each
        token predicts the one before it (y[t] predicts x[t]).

        U and V are each taken through the gradient tap once and used by both directions, so the tap reports each
        side's whole gradient in one call. They are views of their own even when nothing taps them: a tied matrix
        used four times then sums its gradient as (input side) + (output side) whether or not the tracker watches,
        so a tracked run is the same run, bit for bit, as one trained alone."""
        u = self._split_weight("input")
        v = self._split_weight("output")
        if torch.is_grad_enabled():
            u, v = u.view_as(u), v.view_as(v)
        chunk, kernel = self.cfg.loss_chunk, self.cfg.loss_kernel
        features, hidden = self._forward_direction(x, hidden, u)
        forward = linear_cross_entropy(features, v, self.decoder.bias, y, chunk, kernel)
        back_features = self._backward_direction(y, u)
        if self.decoder_bwd is self.decoder:
            backward = linear_cross_entropy(back_features, v, self.decoder.bias, x, chunk, kernel)
        else:
            out = self.decoder_bwd
            backward = linear_cross_entropy(back_features, out.weight, out.bias, x, chunk, kernel)
        return forward, backward, hidden

    @torch.no_grad()
    def direction_perplexities(self, ids: torch.Tensor, window: int, max_tokens: int | None = None) -> dict[str, float]:
        """Forward and backward perplexity over ``ids`` (batch 1, windows of ``window`` tokens; the forward state is
        carried, the backward one starts each window afresh, as in training)."""
        was_training = self.training
        self.eval()
        if max_tokens:
            ids = ids[: max_tokens + 1]
        data = ids.view(-1, 1).to(self.encoder.weight.device)
        hidden = self.init_hidden(1)
        sums, count = [0.0, 0.0], 0
        for start in range(0, data.size(0) - 1, window):
            x = data[start : start + window]
            y = data[start + 1 : start + 1 + x.size(0)]
            x = x[: y.size(0)]
            forward, backward, hidden = self.bidirectional_nll(x, y, hidden)
            sums[0] += float(forward)
            sums[1] += float(backward)
            count += y.numel()
        self.train(was_training)
        ppl = [math.exp(min(s / max(count, 1), 700.0)) for s in sums]
        return {"forward": ppl[0], "backward": ppl[1]}
