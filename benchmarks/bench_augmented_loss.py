"""Inan et al.'s augmented loss (variants `al`, `real`): the cost of one training batch, embedeval vs the
formula written out, in one script.

    python benchmarks/bench_augmented_loss.py [--config pw-small] [--variant al] [--batches 30] [--rounds 3]

The reference computes the cost as the paper writes it: cross-entropy on W h + b, then the KL between
softmax(U[y] U^T / tau) and softmax(W h / tau) with a second output matmul for the bias-free logits.
embedeval's `lm_cost` computes W h once and adds the bias for the cross-entropy. Both take forward and backward
on the same model and batch; rounds alternate so machine noise hits both alike. The costs must agree (checked
here); the ratio is reference time / embedeval time (> 1: embedeval faster).
"""

from __future__ import annotations

import datetime
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import lm_benchmark_setup  # noqa: E402

from embedeval.train.lm import lm_cost  # noqa: E402
from embedeval.train.lm_model import build_model  # noqa: E402


def reference_cost(model, cfg, x, y, hidden):
    features, hidden = model.features(x, hidden)
    ce_sum = F.cross_entropy(model.logits(features).flatten(0, 1), y.reshape(-1), reduction="sum")
    emb = model.encoder.weight
    target = F.softmax(emb[y] @ emb.t() / cfg.al_tau, dim=-1).detach()
    log_pred = F.log_softmax(model.logits(features, bias=False) / cfg.al_tau, dim=-1)
    kl = (target * (target.clamp_min(1e-30).log() - log_pred)).sum()
    return (ce_sum + cfg.al_gamma * cfg.al_tau * kl) / x.size(1)


def seconds_per_batch(cost_fn, model, cfg, x, y, batches: int) -> float:
    start = time.perf_counter()
    for _ in range(batches):
        model.zero_grad()
        cost = cost_fn(model, cfg, x, y, model.init_hidden(cfg.batch_size))
        cost = cost[0] if isinstance(cost, tuple) else cost
        cost.backward()
    return (time.perf_counter() - start) / batches


def main() -> None:
    args, cfg, ids = lm_benchmark_setup(__doc__, "pw-small", "al", 30, 10000)
    if not cfg.augmented_loss:
        raise SystemExit(f"variant {args.variant!r} has no augmented loss: use al or real")
    torch.manual_seed(0)
    model = build_model(10000, cfg)
    n = cfg.bptt * cfg.batch_size
    x, y = ids[:n].view(cfg.bptt, cfg.batch_size), ids[1 : n + 1].view(cfg.bptt, cfg.batch_size)
    ours = lm_cost(model, cfg, x, y, model.init_hidden(cfg.batch_size))[0]
    ref = reference_cost(model, cfg, x, y, model.init_hidden(cfg.batch_size))
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-3)
    reference, mine = [], []
    for _ in range(args.rounds):
        reference.append(seconds_per_batch(reference_cost, model, cfg, x, y, args.batches))
        mine.append(seconds_per_batch(lm_cost, model, cfg, x, y, args.batches))
    r, m = statistics.median(reference), statistics.median(mine)
    print(
        f"config {args.config} ({args.variant}), {args.batches} batches x {args.rounds} rounds, {args.threads} threads"
    )
    print(f"costs agree: {ours.item():.4f} vs {ref.item():.4f}")
    print(f"formula written out: {1000 * r:.0f} ms/batch")
    print(f"embedeval lm_cost:   {1000 * m:.0f} ms/batch")
    print(f"ratio reference / embedeval = {r / m:.2f}x  [{datetime.date.today()}]")


if __name__ == "__main__":
    main()
