"""What `--threads` costs and buys: two computing commands at 1 and at 2 threads, alternating, each in a child
process, with the machine's load printed (the default thread count is chosen from this measurement, made on a
machine where other work runs, and once on an idle one):

- `embedeval train lm --config pw-small` for `--batches` batches (tokens/s, from the run's own metrics);
- `embedeval eval FOLDER --task geometry` on a 32,000 x 1,024 bf16 model folder built here (wall and CPU seconds).

    python benchmarks/bench_threads.py [--batches 200] [--rounds 2] [--corpus ptb]

`--corpus ptb` needs the data directory (EMBEDEVAL_DATA); `builtin` runs anywhere.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_big_model import build  # noqa: E402


def child(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one embedeval command in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "embedeval", *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode:
        sys.exit(f"failed: embedeval {' '.join(args)}\n{result.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--corpus", default="ptb")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-threads-"))
    folder = work / "model"
    build(folder, 32_000, 1_024, tied=False)
    loads, lm, geometry = [], {1: [], 2: []}, {1: [], 2: []}
    for _ in range(args.rounds):
        for threads in (1, 2):
            loads.append(os.getloadavg()[0])
            out = work / f"lm-{threads}"
            child(["train", "lm", "--corpus", args.corpus, "--config", "pw-small", "--epochs", "1", "--max-batches",
                   str(args.batches), "--max-eval-tokens", "1000", "--threads", str(threads), "--out", str(out),
                   "--overwrite"])  # fmt: skip
            metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
            lm[threads].append(metrics[-1]["tokens_per_s"])
            geometry[threads].append(child(["eval", str(folder), "-b", "simlex999", "--task", "geometry",
                                             "--bootstrap", "0", "--threads", str(threads)]))  # fmt: skip
    print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f} before "
          f"the commands] {args.rounds} rounds, 1 and 2 threads alternating")  # fmt: skip
    for threads in (1, 2):
        print(f"train lm pw-small, {args.batches} batches, --threads {threads}: tokens/s "
              + ", ".join(f"{x:,.0f}" for x in lm[threads]))  # fmt: skip
    for threads in (1, 2):
        print(f"eval --task geometry, 32,000 x 1,024, --threads {threads}: wall / CPU s "
              + ", ".join(f"{w:.1f} / {c:.1f}" for w, c in geometry[threads]))  # fmt: skip
    ratio = statistics.median(lm[2]) / statistics.median(lm[1])
    wall = statistics.median(w for w, _ in geometry[1]) / statistics.median(w for w, _ in geometry[2])
    print(f"2 threads / 1: train lm {ratio:.2f}x the tokens/s; geometry {wall:.2f}x faster in wall time")


if __name__ == "__main__":
    main()
