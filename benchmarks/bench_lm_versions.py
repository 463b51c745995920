"""One LM trainer's speed in two source trees, alternating in fresh processes: what a change to the trainer bought.

    git worktree add /tmp/before <commit>
    python benchmarks/bench_lm_versions.py /tmp/before [--config pw-small] [--variant untied] [--batches 80]
        [--rounds 3] [--threads 2]

Each round trains ``--batches`` batches of the config on the same random stream (PTB's vocabulary size, evaluation
cut to a few tokens) first from the other tree, then from this one, each in its own process so that neither keeps
the other's memory or threads; it prints both tokens/s, and the median ratio this / other with its range.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# run in a child: import embedeval from the tree given (ahead of an editable install's finder), train, print tokens/s
CHILD = """
import sys
tree = sys.argv[1]
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()]
sys.path[:0] = [tree, tree + "/benchmarks"]
import numpy as np, torch
import embedeval
assert embedeval.__file__.startswith(tree), embedeval.__file__
from common import trainer_tokens_per_s
from embedeval.train.lm_config import make_config
config, variant, batches, threads = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
cfg = make_config(config, variant, epochs=1, max_batches=batches, threads=threads, max_eval_tokens=10)
size = cfg.batch_size * cfg.bptt * (batches + 2)
ids = torch.from_numpy(np.random.default_rng(0).integers(0, 10000, size=size))
print(trainer_tokens_per_s(ids, cfg, 10000))
"""


def speed(tree: Path, args: argparse.Namespace) -> float:
    command = [sys.executable, "-c", CHILD, str(tree), args.config, args.variant, str(args.batches), str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", type=Path, help="the other source tree (e.g. a git worktree of an earlier commit)")
    parser.add_argument("--config", default="pw-small")
    parser.add_argument("--variant", default="untied")
    parser.add_argument("--batches", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    other, this = args.other.resolve(), HERE
    rows: dict[str, list[float]] = {"other": [], "this": []}
    for _ in range(args.rounds):
        rows["other"].append(speed(other, args))
        rows["this"].append(speed(this, args))
    ratios = [t / o for t, o in zip(rows["this"], rows["other"])]
    print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end] "
          f"{args.config} ({args.variant}), {args.batches} batches x {args.rounds} rounds, {args.threads} threads")  # fmt: skip
    for name, tree in (("other", other), ("this", this)):
        values = ", ".join(f"{v:,.0f}" for v in rows[name])
        print(f"{name} ({tree}): {statistics.median(rows[name]):,.0f} tokens/s median ({values})")
    print(f"this / other: {statistics.median(ratios):.2f}x median (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
