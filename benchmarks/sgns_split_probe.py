"""Does one HogBatch step of the torch SGNS backend go faster split over two threads?

The windows of a step are cut into two halves; each half's gathers, scores and gradients run on its own thread
(PyTorch's kernels release the GIL), and the row updates are applied in one thread's order, so U and V come out
bit-identical to the one-thread step (checked here). Printed: microseconds per step, one thread against the split,
and, for scale, two independent loops of half-steps (no hand-off per step) and the cost of one empty hand-off.

    python benchmarks/sgns_split_probe.py [--windows 128] [--steps 300] [--rounds 3]

The result on a 2-core machine (docs/performance.md): no faster; what scales is two threads that never meet
(Hogwild), which gives up same-seed-same-numbers.
"""

from __future__ import annotations

import argparse
import datetime
import os
import threading
import time

import torch

from embedeval.train.skipgram import _sgns_step


def gradients(u, v, contexts, outputs, weights, lr):
    """-lr x the rows' gradients of one step's windows (the arithmetic of ``_sgns_step``)."""
    b, c = contexts.shape
    d = u.size(1)
    x = u.index_select(0, contexts.reshape(-1)).view(b, c, d)
    y = v.index_select(0, outputs.reshape(-1)).view(b, -1, d)
    g = torch.sigmoid(torch.bmm(x, y.transpose(1, 2)))
    g[:, :, 0] -= 1.0
    g.mul_(weights)
    g.mul_(-lr)
    return torch.bmm(g, y).view(-1, d), torch.bmm(g.transpose(1, 2), x).view(-1, d)


class Partner:
    """A second thread that runs one job per hand-off (two locks: the cheapest wake-up CPython has)."""

    def __init__(self):
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job, self.result = None, None
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            self.go.acquire()
            fn, arg = self.job
            self.result = fn(arg)
            self.done.release()

    def both(self, fn, first, second):
        self.job = (fn, second)
        self.go.release()
        mine = fn(first)
        self.done.acquire()
        return mine, self.result


def split_step(partner, u, v, contexts, outputs, weights, lr):
    half = contexts.size(0) // 2
    parts = [(contexts[:half], outputs[:half], weights[:half]), (contexts[half:], outputs[half:], weights[half:])]
    (gi0, go0), (gi1, go1) = partner.both(lambda p: gradients(u, v, *p, lr), *parts)
    d = u.size(1)
    for rows, grad in ((parts[0][0], gi0), (parts[1][0], gi1)):
        u.scatter_add_(0, rows.reshape(-1).unsqueeze(1).expand(-1, d), grad)
    for rows, grad in ((parts[0][1], go0), (parts[1][1], go1)):
        v.scatter_add_(0, rows.reshape(-1).unsqueeze(1).expand(-1, d), grad)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=128)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    n, d, c, k = 30_000, 200, 10, 5
    gen = torch.Generator().manual_seed(0)
    contexts = torch.randint(0, n, (args.steps, args.windows, c), generator=gen)
    outputs = torch.randint(0, n, (args.steps, args.windows, k + 1), generator=gen)
    weights = (torch.rand(args.steps, args.windows, c, k + 1, generator=gen) > 0.2).float()
    start = (torch.rand(n, d, generator=gen) - 0.5) / d
    partner = Partner()

    def timed(step) -> tuple[float, torch.Tensor, torch.Tensor]:
        u, v = start.clone(), torch.zeros(n, d)
        began = time.perf_counter()
        for s in range(args.steps):
            step(u, v, contexts[s], outputs[s], weights[s])
        return (time.perf_counter() - began) / args.steps * 1e6, u, v

    def one(u, v, cx, out, w):
        _sgns_step(u, v, cx, out, w, 0.025, None, 1)

    def two(u, v, cx, out, w):
        split_step(partner, u, v, cx, out, w, 0.025)

    rows = {"one thread": [], "split over two": [], "two loops (gradients only)": [], "empty hand-off": []}
    identical = True
    for _ in range(args.rounds):
        t1, u1, v1 = timed(one)
        t2, u2, v2 = timed(two)
        identical &= torch.equal(u1, u2) and torch.equal(v1, v2)
        rows["one thread"].append(t1)
        rows["split over two"].append(t2)
        u, v = start.clone(), torch.zeros(n, d)
        half = args.windows // 2

        def loop(part, u=u, v=v):
            for s in range(args.steps):
                gradients(u, v, contexts[s, part], outputs[s, part], weights[s, part], 0.025)

        began = time.perf_counter()
        partner.both(loop, slice(0, half), slice(half, None))
        rows["two loops (gradients only)"].append((time.perf_counter() - began) / args.steps * 1e6)
        began = time.perf_counter()
        for _ in range(args.steps):
            partner.both(lambda x: x, 0, 1)
        rows["empty hand-off"].append((time.perf_counter() - began) / args.steps * 1e6)
    print(
        f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end] "
        f"{args.windows} windows per step, {args.steps} steps x {args.rounds} rounds, 30,000 x 200"
    )
    for name, values in rows.items():
        print(f"{name:24s} " + ", ".join(f"{x:.0f} us" for x in values) + " per step")
    print(f"the split's U and V bit-identical to one thread's: {identical}")


if __name__ == "__main__":
    main()
