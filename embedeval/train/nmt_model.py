"""A pre-LayerNorm Transformer encoder-decoder whose three embedding matrices can be tied (Press & Wolf Section 5).

E = ``src_embed.weight`` (encoder input), U = ``tgt_embed.weight`` (decoder input), V = ``out.weight`` (decoder
output, the softmax). ``tie="decoder"`` makes U and V one Parameter; ``tie="all"`` makes E, U and V one Parameter
(it needs one joint vocabulary). As in the language models, ``input_embedding()`` / ``output_embedding()`` are the
decoder's U and V, so the dynamics tracker's gradient split and drift work on the decoder side unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from embedeval.embeddings.subword import PAD
from embedeval.train.base import parameter_counts, tapped, tie
from embedeval.train.nmt_config import NMTConfig
from embedeval.train.transformer_model import sinusoidal


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, t, d = x.shape
    return x.view(b, t, heads, d // heads).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)

    def keys_values(self, source: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, v = self.kv(source).chunk(2, dim=-1)
        return _heads(k, self.heads), _heads(v, self.heads)

    def forward(
        self, x: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor], mask: torch.Tensor | None = None, causal=False
    ) -> torch.Tensor:
        q = _heads(self.q(x), self.heads)
        y = F.scaled_dot_product_attention(
            q, kv[0], kv[1], attn_mask=mask, dropout_p=self.dropout if self.training else 0.0, is_causal=causal
        )
        b, h, t, dh = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * dh))


def _feed_forward(d: int, ff: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff, d))


class EncoderLayer(nn.Module):
    def __init__(self, cfg: NMTConfig):
        super().__init__()
        d = cfg.d_model
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = Attention(d, cfg.heads, cfg.dropout)
        self.ff = _feed_forward(d, cfg.ff, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.drop(self.attn(h, self.attn.keys_values(h), mask))
        return x + self.drop(self.ff(self.ln2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: NMTConfig):
        super().__init__()
        d = cfg.d_model
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = Attention(d, cfg.heads, cfg.dropout)
        self.cross = Attention(d, cfg.heads, cfg.dropout)
        self.ff = _feed_forward(d, cfg.ff, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self,
        x: torch.Tensor,
        memory_kv: tuple[torch.Tensor, torch.Tensor],
        memory_mask: torch.Tensor,
        cache: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        h = self.ln1(x)
        k, v = self.self_attn.keys_values(h)
        if cache is not None:  # decoding one position at a time: attend to every earlier position's keys
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        x = x + self.drop(self.self_attn(h, (k, v), causal=cache is None))
        x = x + self.drop(self.cross(self.ln2(x), memory_kv, memory_mask))
        return x + self.drop(self.ff(self.ln3(x)))


class Seq2Seq(nn.Module):
    def __init__(self, src_vocab: int, tgt_vocab: int, cfg: NMTConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.src_embed = nn.Embedding(src_vocab, d)
        self.tgt_embed = nn.Embedding(tgt_vocab, d)
        self.out = nn.Linear(d, tgt_vocab, bias=False)
        self.register_buffer("positions", sinusoidal(cfg.max_len + 2, d), persistent=False)
        self.scale = math.sqrt(d) if cfg.emb_scale else 1.0
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder_layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.layers))
        self.decoder_layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.decoder_layers))
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.grad_hook: Callable[[str, torch.Tensor], None] | None = None
        self.reset_parameters()
        if cfg.tie in ("decoder", "all"):
            tie(self.out, "weight", self.tgt_embed.weight)  # one Parameter, initialised once
        if cfg.tie == "all":
            if src_vocab != tgt_vocab:
                raise ValueError("tie=all needs one vocabulary for both languages")
            tie(self.src_embed, "weight", self.tgt_embed.weight)

    def reset_parameters(self) -> None:
        """fairseq's initialisation: embeddings N(0, d^-1/2) (with the sqrt(d) scale their inputs are unit-sized and
        a tied matrix gives unit-sized logits), Xavier-uniform weight matrices, zero biases, unit LayerNorms."""
        d = self.cfg.d_model
        for name, param in self.named_parameters():
            if name.endswith("embed.weight") or name == "out.weight":
                nn.init.normal_(param, 0.0, d**-0.5)
            elif param.dim() >= 2:
                nn.init.xavier_uniform_(param)
            elif name.endswith("bias"):
                nn.init.zeros_(param)
            else:
                nn.init.ones_(param)

    # --- the embedding contract shared with the language models (see EmbeddingLM) -----------------------------
    def input_embedding(self) -> torch.Tensor:
        """U: the decoder's input embedding (the tied matrix when tied)."""
        return self.tgt_embed.weight

    def output_embedding(self) -> torch.Tensor:
        """V: the decoder's output embedding (the same tensor as U when tied)."""
        return self.out.weight

    def source_embedding(self) -> torch.Tensor:
        """E: the encoder's input embedding (the same tensor as U and V under tie=all)."""
        return self.src_embed.weight

    def _split_weight(self, role: str) -> torch.Tensor:
        return tapped(self.tgt_embed.weight if role == "input" else self.out.weight, role, self.grad_hook)

    def parameter_counts(self) -> dict[str, int]:
        embeddings = sum(p.numel() for p in {id(p): p for p in (self.src_embed.weight, self.tgt_embed.weight,
                                                                 self.out.weight)}.values())  # fmt: skip
        return {**parameter_counts(self), "embedding_parameters": embeddings}

    # --- the network ------------------------------------------------------------------------------------------
    def _embed(self, weight: torch.Tensor, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        x = F.embedding(ids, weight) * self.scale
        return self.drop(x + self.positions[start : start + ids.size(1)])

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, S) source ids -> memory (batch, S, d) and its key mask (batch, 1, 1, S), True = a real token."""
        mask = (src != PAD)[:, None, None, :]
        x = self._embed(self.src_embed.weight, src)
        for layer in self.encoder_layers:
            x = layer(x, mask)
        return self.encoder_norm(x), mask

    def memory_kv(self, memory: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [layer.cross.keys_values(memory) for layer in self.decoder_layers]

    def decode(
        self,
        tgt_in: torch.Tensor,
        memory_kv: list[tuple[torch.Tensor, torch.Tensor]],
        memory_mask: torch.Tensor,
        caches: list[dict[str, torch.Tensor]] | None = None,
        start: int = 0,
    ) -> torch.Tensor:
        """Decoder features (batch, T, d) for target inputs (batch, T); with ``caches``, T new positions after
        ``start`` earlier ones."""
        x = self._embed(self._split_weight("input"), tgt_in, start)
        for i, layer in enumerate(self.decoder_layers):
            x = layer(x, memory_kv[i], memory_mask, None if caches is None else caches[i])
        return self.decoder_norm(x)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return F.linear(features, self._split_weight("output"))

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        memory, mask = self.encode(src)
        return self.logits(self.decode(tgt_in, self.memory_kv(memory), mask))
