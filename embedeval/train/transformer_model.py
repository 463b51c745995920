"""A decoder-only, pre-LayerNorm Transformer language model with the same embedding contract as the LSTM.

U = ``encoder.weight`` and V = ``decoder.weight`` (one Parameter when tied, as in GPT-2), so training, exports,
the gradient split and the dynamics tracker treat it exactly like the LSTM (see
:class:`~embedeval.train.lm_model.EmbeddingLM`). The context is ``cfg.bptt`` tokens: the trainer feeds windows
of that length and no state crosses a window (``init_hidden`` is empty).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from embedeval.errors import EmbedevalError
from embedeval.train.base import tie
from embedeval.train.lm_config import LMConfig
from embedeval.train.lm_model import EmbeddingLM


def check_config(cfg: LMConfig) -> None:
    """Settings the Transformer cannot train (its registration names this check)."""
    if cfg.embedding_size != cfg.hidden:
        raise EmbedevalError(
            f"the Transformer's embedding size ({cfg.embedding_size}) must equal its width ({cfg.hidden}): "
            "drop --emb-size and set the width with --hidden"
        )
    if cfg.hidden % cfg.heads:
        raise EmbedevalError(f"--hidden {cfg.hidden} is not divisible by --heads {cfg.heads}: change either")
    if cfg.variational:
        raise EmbedevalError("--variational (locked dropout) is for the LSTM")


def uniform_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout kernel 2 (training only): each element kept where a float32 uniform draw is below 1 - p, and scaled by
    1 / (1 - p), as PyTorch's dropout scales. PyTorch's CPU ``bernoulli_`` draws a double (two 32-bit numbers) per
    element in one thread and took about 8% of a ``tf-small`` step; one 32-bit draw per element takes about half
    that. The masks come from another stream than kernel 1's, hence the config field."""
    keep = 1.0 - p
    noise = torch.rand_like(x).lt_(keep).div_(keep)
    return x * noise


class Dropout(nn.Module):
    """``nn.Dropout`` (kernel 1) or :func:`uniform_dropout` (kernel 2): ``LMConfig.dropout_kernel``."""

    def __init__(self, p: float, kernel: int):
        super().__init__()
        self.p, self.kernel = p, kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        return F.dropout(x, self.p, True) if self.kernel == 1 else uniform_dropout(x, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}, kernel={self.kernel}"


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
    """Causal softmax attention over (batch, heads, time, head width) with kernel 2's dropout on the weights: what
    ``scaled_dot_product_attention`` computes on the CPU when it drops out (its math path), with the other mask."""
    t = q.size(-2)
    scores = torch.matmul(q * (1.0 / math.sqrt(q.size(-1))), k.transpose(-2, -1))
    scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool, device=q.device).triu_(1), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return torch.matmul(uniform_dropout(weights, p) if p > 0.0 else weights, v)


class Block(nn.Module):
    """x + attn(LN(x)), then x + MLP(LN(x)): pre-LN, as in GPT-2, trains stably without a long warm-up."""

    def __init__(self, cfg: LMConfig):
        super().__init__()
        d = cfg.hidden
        self.heads = cfg.heads
        self.dropout = 1.0 - cfg.keep_prob
        self.kernel = cfg.dropout_kernel
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.ff_mult * d), nn.GELU(), nn.Linear(cfg.ff_mult * d, d))
        self.drop = Dropout(self.dropout, cfg.dropout_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, time, d)
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        p = self.dropout if self.training else 0.0
        if p > 0.0 and self.kernel == 2:
            y = causal_attention(q, k, v, p)
        else:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.mlp(self.ln2(x)))


def sinusoidal(length: int, d: int) -> torch.Tensor:
    """Vaswani et al.'s fixed position codes: sin on even, cos on odd dimensions."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    table = torch.zeros(length, d)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: d // 2])
    return table


class TransformerLM(EmbeddingLM):
    def __init__(self, vocab_size: int, cfg: LMConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden
        self.context = cfg.bptt
        self.encoder = nn.Embedding(vocab_size, d)
        if cfg.positions == "learned":
            self.positions = nn.Embedding(self.context, d)
        else:
            self.register_buffer("position_table", sinusoidal(self.context, d), persistent=False)
            self.positions = None
        self.scale = math.sqrt(d) if cfg.emb_scale else 1.0
        self.drop = Dropout(1.0 - cfg.keep_prob, cfg.dropout_kernel)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(d)
        self.decoder = nn.Linear(d, vocab_size, bias=cfg.output_bias)
        self.reset_parameters()
        if cfg.tied:
            tie(self.decoder, "weight", self.encoder.weight)  # one tensor, initialised once

    def reset_parameters(self) -> None:
        """GPT-2's initialisation: N(0, init_scale) weights, zero biases, the residual projections scaled down by
        sqrt(2 x layers) so the residual stream does not grow with depth."""
        std = self.cfg.init_scale
        for name, param in self.named_parameters():
            if param.dim() == 1:
                nn.init.ones_(param) if name.endswith("weight") else nn.init.zeros_(param)  # LayerNorm / biases
            elif name.endswith(("proj.weight", "mlp.2.weight")):
                nn.init.normal_(param, 0.0, std / math.sqrt(2 * self.cfg.layers))
            else:
                nn.init.normal_(param, 0.0, std)

    def init_hidden(self, batch_size: int) -> list:
        return []  # nothing crosses a context window

    def features(self, tokens: torch.Tensor, hidden: list) -> tuple[torch.Tensor, list]:
        """(time, batch) ids -> (time, batch, d) features; time must not exceed the context."""
        t = tokens.size(0)
        if t > self.context:
            raise ValueError(f"{t} tokens exceed the context of {self.context}")
        x = F.embedding(tokens.t(), self._split_weight("input")) * self.scale  # (batch, time, d)
        pos = self.positions.weight[:t] if self.positions is not None else self.position_table[:t]
        x = self.drop(x + pos)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x).transpose(0, 1).contiguous(), hidden
