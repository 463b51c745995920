"""Data-parallel scaling on this machine: tokens/s of `embedeval train lm` with N = 2 processes vs N = 1.

    python benchmarks/bench_ddp.py [--config pw-small] [--batches 100] [--threads 1]

Each process uses --threads threads, so N = 2 with 1 thread uses the same cores as N = 1 with 2 threads would; the
run's own tokens/s (over the epoch's batches, evaluation excluded) is read from its metrics.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile


def tokens_per_s(nproc: int, args: argparse.Namespace) -> float:
    out = os.path.join(tempfile.mkdtemp(prefix="bench-ddp-"), "run")
    cmd = [sys.executable, "-m", "embedeval", "train", "lm", "--corpus", args.corpus, "--config", args.config,
           "--epochs", "1", "--max-batches", str(args.batches), "--threads", str(args.threads), "--max-eval-tokens",
           "1000", "--out", out, "--nproc", str(nproc)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr[-2000:])
    with open(os.path.join(out, "metrics.jsonl")) as handle:
        return json.loads(handle.readline())["tokens_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="builtin")
    parser.add_argument("--config", default="pw-small")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    one, two = tokens_per_s(1, args), tokens_per_s(2, args)
    print(f"{args.config} on {args.corpus}, {args.batches} batches, {args.threads} thread(s) per process")
    print(
        f"N = 1: {one:,.0f} tokens/s;  N = 2: {two:,.0f} tokens/s;  scaling {two / one:.2f}x  [{datetime.date.today()}]"
    )


if __name__ == "__main__":
    main()
