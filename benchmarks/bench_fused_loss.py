"""The output layer's cross-entropy, fused in blocks of rows (`--loss-chunk`, the default) against PyTorch's
unfused `F.cross_entropy(F.linear(...))`: one forward + backward, time and peak memory, each in its own child
process (so each peak is its own), alternating.

    python benchmarks/bench_fused_loss.py [--rows 2240] [--vocab 33278] [--width 256] [--threads 2] [--rounds 2]

The defaults are tf-small's batch on WikiText-2 (32 x 70 positions, 33,278 words); `--rows 400 --vocab 10000
--width 200` is pw-small's on PTB.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys

CHILD = """
import resource, sys, time, torch
from embedeval.train.fused_loss import linear_cross_entropy
rows, vocab, width, chunk, threads = map(int, sys.argv[1:6])
torch.set_num_threads(threads)
gen = torch.Generator().manual_seed(0)
h = torch.randn(rows, width, generator=gen).requires_grad_()
w = (torch.randn(vocab, width, generator=gen) * 0.1).requires_grad_()
b = torch.zeros(vocab, requires_grad=True)
y = torch.randint(0, vocab, (rows,), generator=gen)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(4):
    start = time.perf_counter()
    linear_cross_entropy(h, w, b, y, chunk).backward()
    times.append(time.perf_counter() - start)
    h.grad = w.grad = b.grad = None
print(min(times[1:]), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2240)
    parser.add_argument("--vocab", type=int, default=33278)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from embedeval.train.lm_config import LMConfig

    chunk = LMConfig().loss_chunk
    results: dict[int, list[tuple[float, float]]] = {0: [], chunk: []}
    for _ in range(args.rounds):
        for c in (0, chunk):
            out = subprocess.run([sys.executable, "-c", CHILD, str(args.rows), str(args.vocab), str(args.width), str(c),
                                  str(args.threads)], capture_output=True, text=True, check=True)  # fmt: skip
            seconds, mb = map(float, out.stdout.split())
            results[c].append((seconds, mb))
    print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end] "
          f"{args.rows} rows x {args.vocab:,} words x width {args.width}, {args.threads} threads, {args.rounds} rounds")  # fmt: skip
    for c, label in ((0, "unfused (--loss-chunk 0)"), (chunk, f"fused (--loss-chunk {chunk})")):
        print(f"{label:28s} forward+backward " + ", ".join(f"{s * 1e3:.0f} ms" for s, _ in results[c])
              + "; peak memory above the inputs " + ", ".join(f"{m:.0f} MB" for _, m in results[c]))  # fmt: skip
    best = {c: min(s for s, _ in results[c]) for c in results}
    print(
        f"time fused / unfused (best of each): {best[chunk] / best[0]:.2f}; peak memory fused / unfused: "
        f"{min(m for _, m in results[chunk]) / min(m for _, m in results[0]):.2f}"
    )


if __name__ == "__main__":
    main()
