"""LM training throughput: embedeval's trainer vs a plain PyTorch loop at the same config, same script.

    python benchmarks/bench_lm.py [--config pw-small] [--batches 150] [--rounds 2] [--threads 2]

The reference is the canonical word-language-model loop written out here (nn.Embedding -> nn.LSTM ->
nn.Linear -> cross-entropy -> SGD with clipping). Both run on the same random token stream with PTB's
vocabulary size; rounds alternate so machine noise hits both alike. Target: ratio >= 1.0.
Matmul bound: tokens/s x training FLOPs per token / the sgemm FLOP/s measured here at the same thread count.
Training FLOPs per token = 6 x the weights used in matmuls (each LSTM layer's 4h x (input + h), the output
embedding h x vocabulary); the input embedding is a lookup and costs none.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import lm_benchmark_setup, report_lm_throughput  # noqa: E402


class PlainLM(nn.Module):
    def __init__(self, vocab: int, hidden: int, layers: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x, hidden):
        y, hidden = self.lstm(self.embed(x), hidden)
        return self.out(y), hidden


def plain_loop(ids: torch.Tensor, cfg, batches: int) -> float:
    torch.manual_seed(0)
    model = PlainLM(10000, cfg.hidden, cfg.layers)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    data = ids[: (ids.numel() // cfg.batch_size) * cfg.batch_size].view(cfg.batch_size, -1).t()
    hidden = None
    start = time.perf_counter()
    for b in range(batches):
        x, y = data[b * cfg.bptt : (b + 1) * cfg.bptt], data[b * cfg.bptt + 1 : (b + 1) * cfg.bptt + 1]
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)
        opt.zero_grad()
        logits, hidden = model(x, hidden)
        loss = nn.functional.cross_entropy(logits.view(-1, 10000), y.reshape(-1), reduction="sum") / cfg.batch_size
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
    return batches * cfg.bptt * cfg.batch_size / (time.perf_counter() - start)


def train_flops_per_token(cfg) -> float:
    h, width = cfg.hidden, cfg.emb_size or cfg.hidden
    lstm = sum(4 * h * ((width if layer == 0 else h) + h) for layer in range(cfg.layers))
    return 6 * (lstm + h * 10000)


def main() -> None:
    args, cfg, ids = lm_benchmark_setup(__doc__, "pw-small", "untied", 150, 10000)
    report_lm_throughput(args, cfg, ids, 10000, lambda: plain_loop(ids, cfg, args.batches), train_flops_per_token(cfg))


if __name__ == "__main__":
    main()
