"""Transformer LM training throughput: embedeval's trainer vs a plain PyTorch loop of the same model, same script,
and the fraction of the machine's matmul bound that each reaches.

    python benchmarks/bench_transformer.py [--config tf-small] [--variant wt] [--batches 30] [--rounds 2] [--threads 2]

The plain loop is written out here with nn.TransformerEncoderLayer (pre-LN, causal mask, GELU) at the config's
width, depth, heads and context, AdamW, clipping and a per-token cross-entropy: what one writes without embedeval.
Both train on the same random stream with PTB's vocabulary size, rounds alternating so machine noise hits both alike.
Matmul bound: tokens/s x training FLOPs per token / the sgemm FLOP/s measured here (a 1024^3 float32 matmul).
Training FLOPs per token = 6 x (weights used in matmuls, the output embedding included) + 12 x layers x context x
width for attention (Kaplan et al. 2020; forward 2, backward 4 per multiply-add). Target: ratio >= 1.0.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import lm_benchmark_setup, report_lm_throughput  # noqa: E402

VOCAB = 10000


class PlainTransformer(nn.Module):
    def __init__(self, cfg, tied: bool):
        super().__init__()
        d = cfg.hidden
        self.embed = nn.Embedding(VOCAB, d)
        self.pos = nn.Embedding(cfg.bptt, d)
        layer = nn.TransformerEncoderLayer(
            d, cfg.heads, cfg.ff_mult * d, dropout=1 - cfg.keep_prob, activation="gelu", batch_first=True,
            norm_first=True,
        )  # fmt: skip
        self.blocks = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, VOCAB)
        if tied:
            self.out.weight = self.embed.weight
        self.mask = nn.Transformer.generate_square_subsequent_mask(cfg.bptt)

    def forward(self, x):  # (batch, time)
        h = self.embed(x) + self.pos.weight[: x.size(1)]
        return self.out(self.norm(self.blocks(h, mask=self.mask, is_causal=True)))


def plain_loop(ids: torch.Tensor, cfg, batches: int, tied: bool) -> float:
    torch.manual_seed(0)
    model = PlainTransformer(cfg, tied)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    data = ids[: (ids.numel() // cfg.batch_size) * cfg.batch_size].view(cfg.batch_size, -1)
    start = time.perf_counter()
    for b in range(batches):
        x, y = data[:, b * cfg.bptt : (b + 1) * cfg.bptt], data[:, b * cfg.bptt + 1 : (b + 1) * cfg.bptt + 1]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
    return batches * cfg.bptt * cfg.batch_size / (time.perf_counter() - start)


def train_flops_per_token(cfg) -> float:
    d, layers = cfg.hidden, cfg.layers
    matmul_weights = layers * (4 * d * d + 2 * cfg.ff_mult * d * d) + VOCAB * d  # blocks + output embedding
    return 6 * matmul_weights + 12 * layers * cfg.bptt * d


def main() -> None:
    args, cfg, ids = lm_benchmark_setup(__doc__, "tf-small", "wt", 30, VOCAB)
    report_lm_throughput(
        args, cfg, ids, VOCAB, lambda: plain_loop(ids, cfg, args.batches, cfg.tied), train_flops_per_token(cfg)
    )


if __name__ == "__main__":
    main()
