"""The main job's cost: wall time and CPU time of `embedeval compare` (the built-in default) in a subprocess.

    python benchmarks/bench_main_job.py

CPU time (user + system of the child) is what a loaded machine cannot hide; wall time depends on what else runs.
"""

from __future__ import annotations

import datetime
import os
import resource
import subprocess
import sys
import tempfile
import time


def main() -> None:
    out = os.path.join(tempfile.mkdtemp(prefix="bench-main-"), "report")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "embedeval", "compare", "--out", out], capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if result.returncode:
        sys.exit(result.stderr[-2000:])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"embedeval compare (built-in default): {wall:.0f} s wall, {usage.ru_utime + usage.ru_stime:.0f} s CPU, "
          f"peak memory {usage.ru_maxrss / 2**20:.2f} GB  [{datetime.date.today()}, {os.cpu_count()} cores]")  # fmt: skip


if __name__ == "__main__":
    main()
