"""How many threads a command computes with, and setting them for every library that computes.

The default is OMP_NUM_THREADS where it is set to a positive whole number, else 1. Measured by
``benchmarks/bench_threads.py`` on a 2-core machine (docs/performance.md, "Threads"): idle, two threads trained a
pw-small LSTM 1.55x faster and took geometry over a 32k x 1,024 matrix 1.18x faster; with two other trainings on the
cores, two threads trained at 0.55x the speed of one and the geometry took 1.15x as long. So `--threads 2` is a
choice to make when the cores are free, not a default that hurts whenever they are not.
"""

from __future__ import annotations

import os
import sys

# the variables the BLAS and OpenMP runtimes read when they load; set before NumPy or torch is imported they hold
# for every library, and threadpoolctl and torch.set_num_threads cover those already loaded
_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_threads() -> int:
    """OMP_NUM_THREADS where it is set to a positive whole number, else 1."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def use_threads(threads: int | None) -> int:
    """Compute with ``threads`` threads (None: the default) from here on in this process and its children; returns
    the number used."""
    n = threads or default_threads()
    for name in _VARIABLES:
        os.environ[name] = str(n)
    if "numpy" in sys.modules or "scipy" in sys.modules:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(n)
    return n
