"""Word-frequency buckets, log-spaced by corpus count: rare words are where U and V differ most."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Buckets:
    labels: list[str]  # "1-9", "10-99", ..., "10000+"
    index: np.ndarray  # bucket of every vocabulary row
    sizes: list[int]

    def __len__(self) -> int:
        return len(self.labels)

    def sums(self, per_row: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Sum of a per-row quantity within each bucket (``rows`` when it covers only some rows)."""
        index = self.index if rows is None else self.index[rows]
        return np.bincount(index, weights=per_row, minlength=len(self.labels))


def frequency_buckets(counts: np.ndarray, base: float = 10.0) -> Buckets:
    """Bucket b holds the words with base**b <= count < base**(b+1); counts below 1 join bucket 0."""
    counts = np.asarray(counts, dtype=np.float64)
    exponent = np.floor(np.log(np.maximum(counts, 1.0)) / np.log(base)).astype(np.int64)
    top = int(exponent.max()) if len(exponent) else 0
    labels = []
    for b in range(top + 1):
        low, high = int(base**b), int(base ** (b + 1)) - 1
        labels.append(f"{low}+" if b == top else f"{low}-{high}")
    sizes = np.bincount(exponent, minlength=top + 1)
    return Buckets(labels, exponent, [int(s) for s in sizes])
