"""How many threads a command computes with, and setting them for every library that computes.

The default is OMP_NUM_THREADS where it is set to a positive whole number, else 1. Measured on 2-core machines
shared with other work (docs/performance.md, "Threads"): at torch's own default (one thread per core) a pw-small
LSTM trained at 681-4,325 tokens/s against a steady ~2,600 with one thread, and `compare` on a 32k x 1,024 model took
146 s against 39 s; the built-in default's tiny models gained no wall time from a second thread and cost 3.3x the
CPU. On an idle machine a second thread does pay for the larger models (the LSTM 1.78x), so `--threads 2` is a
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
