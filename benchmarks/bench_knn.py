"""k nearest neighbours by cosine, as the dynamics tracker asks at every record: embedeval vs scikit-learn.

    python benchmarks/bench_knn.py [--rows 10000] [--dim 200] [--queries 2000] [--k 10] [--repeat 5]

Both sides get the same float32 matrix and query rows, one thread each, in this one process. scikit-learn is
``NearestNeighbors(metric="cosine", algorithm="brute")`` with k + 1 neighbours and the query row dropped, what
embedeval used before; embedeval is ``evaluate.geometry.knn_indices``. The script also checks that both find
the same neighbour sets. Target: at least 1.0x (it replaced scikit-learn because the tracker spent more time
here than training the demo LSTM pair).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def sklearn_knn(x: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    _, idx = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(x).kneighbors(x[rows])
    return np.stack([found[found != row][:k] for row, found in zip(rows, idx)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=200)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import torch

    from embedeval.evaluate.geometry import knn_indices

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.rows, args.dim)).astype(np.float32)
    rows = np.sort(rng.choice(args.rows, size=args.queries, replace=False))
    ours_t, theirs_t = [], []
    for _ in range(args.repeat):  # alternated, so both see the same machine load
        t0 = time.perf_counter()
        theirs = sklearn_knn(x, args.k, rows)
        t1 = time.perf_counter()
        ours = knn_indices(x, args.k, rows)
        t2 = time.perf_counter()
        theirs_t.append(t1 - t0)
        ours_t.append(t2 - t1)
    same = np.mean([set(a) == set(b) for a, b in zip(ours, theirs)])
    s, o = statistics.median(theirs_t), statistics.median(ours_t)
    print(f"{args.queries} queries, k={args.k}, {args.rows} x {args.dim}, one thread, median of {args.repeat}")
    print(f"scikit-learn NearestNeighbors: {s * 1000:.0f} ms")
    print(f"embedeval knn_indices:         {o * 1000:.0f} ms   ratio {s / o:.1f}x  (target >= 1.0x)")
    print(f"same neighbour sets: {same:.1%} of queries   [{datetime.date.today()}]")


if __name__ == "__main__":
    main()
