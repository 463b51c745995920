"""LM training throughput: embedeval's trainer vs a plain PyTorch loop at the same config, same script.

    python benchmarks/bench_lm.py [--config pw-small] [--batches 150] [--rounds 2] [--threads 2]

The reference is the canonical word-language-model loop written out here (nn.Embedding -> nn.LSTM ->
nn.Linear -> cross-entropy -> SGD with clipping). Both run on the same random token stream with PTB's
vocabulary size; rounds alternate so machine noise hits both alike. Target: ratio >= 1.0.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import tempfile
import time

import numpy as np
import torch
from torch import nn


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


def ours(ids: torch.Tensor, cfg, batches: int) -> float:
    from embedeval.data.corpus import Vocab
    from embedeval.rundir import RunDir
    from embedeval.train.lm import LMData, train_lm

    vocab = Vocab([f"w{i}" for i in range(10000)], np.ones(10000, dtype=np.int64))
    data = LMData(vocab, ids, ids[:2000], ids[:2000])
    run = RunDir.create(tempfile.mkdtemp(prefix="bench-lm-"), overwrite=True)
    speeds = []
    train_lm(cfg, data, run, progress=lambda r: speeds.append(r["tokens_per_s"]))
    return speeds[-1]  # the loop's own tokens/s over the epoch's batches, evaluation excluded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="pw-small")
    parser.add_argument("--variant", default="untied")
    parser.add_argument("--batches", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from embedeval.train.lm_config import make_config

    cfg = make_config(args.config, args.variant, epochs=1, max_batches=args.batches, threads=args.threads)
    ids = torch.from_numpy(
        np.random.default_rng(0).integers(0, 10000, size=cfg.batch_size * cfg.bptt * (args.batches + 2))
    )
    plain, mine = [], []
    for _ in range(args.rounds):
        plain.append(plain_loop(ids, cfg, args.batches))
        mine.append(ours(ids, cfg, args.batches))
    p, m = statistics.median(plain), statistics.median(mine)
    print(
        f"config {args.config} ({args.variant}), {args.batches} batches x {args.rounds} rounds, {args.threads} threads"
    )
    print(f"plain PyTorch loop: {p:,.0f} tokens/s")
    print(f"embedeval train lm: {m:,.0f} tokens/s")
    print(f"ratio embedeval / plain = {m / p:.2f}x  (target >= 1.0)  [{datetime.date.today()}]")


if __name__ == "__main__":
    main()
