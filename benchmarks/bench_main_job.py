"""The main job's cost: wall time and CPU time of `embedeval compare` (the built-in default) in a subprocess, at
its default thread count and at each count given, run one after the other in this script.

    python benchmarks/bench_main_job.py                 # the default only
    python benchmarks/bench_main_job.py --threads 1 2   # the default, then --threads 1 and --threads 2

CPU time (user + system of the child) is what a loaded machine cannot hide; wall time depends on what else runs.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import subprocess
import sys
import tempfile
import time


def measure(threads: int | None) -> tuple[float, float, float]:
    out = os.path.join(tempfile.mkdtemp(prefix="bench-main-"), "report")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    extra = ["--threads", str(threads)] if threads else []
    result = subprocess.run(
        [sys.executable, "-m", "embedeval", "compare", "--out", out, *extra], capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if result.returncode:
        sys.exit(result.stderr[-2000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, after.ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="*", default=[], help="also measure these --threads values")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"[{datetime.date.today()}, {os.cpu_count()} cores, load average {load:.1f} at the start]")
    for threads in [None, *args.threads]:
        wall, cpu, peak = measure(threads)
        label = "default" if threads is None else f"--threads {threads}"
        print(f"embedeval compare (built-in default, {label}): {wall:.0f} s wall, {cpu:.0f} s CPU, "
              f"peak memory {peak:.2f} GB (largest child so far)")  # fmt: skip


if __name__ == "__main__":
    main()
