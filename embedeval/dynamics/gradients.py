"""The split of an embedding gradient into its input-side part G_in and output-side part G_out.

For a tied matrix S the gradient is G = G_in + G_out: G_in comes from the embedding lookup (non-zero
only on the rows of words in the batch input), G_out from the softmax layer (every row in an LM; the
center word and the negatives in SGNS). For an untied run the same split is simply U's gradient and
V's gradient. Statistics are accumulated per frequency bucket over sampled steps and flushed at each
record.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from embedeval.dynamics.buckets import Buckets


class GradientSplit:
    """Accumulates per-step, per-bucket statistics of (G_in, G_out) between two records."""

    def __init__(self, buckets: Buckets, tied: bool):
        self.buckets, self.tied = buckets, tied
        self._reset()

    def _reset(self) -> None:
        k = len(self.buckets)
        self.steps = 0
        self.sq_in, self.sq_out, self.sq_all = np.zeros(k), np.zeros(k), np.zeros(k)
        self.cos_sum, self.cos_n = np.zeros(k), np.zeros(k)
        self.rows_in = np.zeros(k)
        self.total_cos_sum, self.total_cos_n = 0.0, 0

    def add_dense(self, g_in: torch.Tensor, g_out: torch.Tensor) -> None:
        """One step's full (C, d) gradients of the input side and the output side."""
        sq_in = g_in.pow(2).sum(1).double().cpu().numpy()
        sq_out = g_out.pow(2).sum(1).double().cpu().numpy()
        dot = (g_in * g_out).sum(1).double().cpu().numpy()
        self._add(sq_in, sq_out, dot, None)

    def add_rows(
        self, rows_in: torch.Tensor, grad_in: torch.Tensor, rows_out: torch.Tensor, grad_out: torch.Tensor
    ) -> None:
        """One SGNS step: per-pair gradient rows, summed here onto the distinct vocabulary rows they touch."""
        rows = torch.cat([rows_in, rows_out])
        unique, inverse = torch.unique(rows, return_inverse=True)
        d = grad_in.size(1)
        g_in = torch.zeros(len(unique), d, dtype=grad_in.dtype).index_add_(0, inverse[: len(rows_in)], grad_in)
        g_out = torch.zeros(len(unique), d, dtype=grad_out.dtype).index_add_(0, inverse[len(rows_in) :], grad_out)
        sq_in = g_in.pow(2).sum(1).double().numpy()
        sq_out = g_out.pow(2).sum(1).double().numpy()
        dot = (g_in * g_out).sum(1).double().numpy()
        self._add(sq_in, sq_out, dot, unique.numpy())

    def _add(self, sq_in: np.ndarray, sq_out: np.ndarray, dot: np.ndarray, rows: np.ndarray | None) -> None:
        b = self.buckets
        self.steps += 1
        bucket_in, bucket_out = b.sums(sq_in, rows), b.sums(sq_out, rows)
        self.sq_in += bucket_in
        self.sq_out += bucket_out
        self.rows_in += b.sums((sq_in > 0).astype(np.float64), rows)
        if not self.tied:
            return
        # G = G_in + G_out on the same rows: |G|^2 = |G_in|^2 + |G_out|^2 + 2<G_in, G_out>
        bucket_dot = b.sums(dot, rows)
        bucket_all = bucket_in + bucket_out + 2 * bucket_dot
        self.sq_all += bucket_all
        g_dot_out = bucket_dot + bucket_out  # <G, G_out>
        denom = np.sqrt(bucket_all * bucket_out)
        ok = denom > 0
        self.cos_sum[ok] += g_dot_out[ok] / denom[ok]
        self.cos_n[ok] += 1
        total_denom = np.sqrt(bucket_all.sum() * bucket_out.sum())
        if total_denom > 0:
            self.total_cos_sum += g_dot_out.sum() / total_denom
            self.total_cos_n += 1

    def flush(self) -> dict[str, Any] | None:
        """Per-step averages since the last flush (None when no step was sampled), then start again."""
        if self.steps == 0:
            return None
        n = self.steps
        sizes = np.maximum(np.array(self.buckets.sizes, dtype=np.float64), 1)

        def part(sq_in: float | np.ndarray, sq_out, rows_in, size, cos_sum=None, cos_n=None, sq_all=None):
            out = {
                "norm_in": np.sqrt(sq_in / n),  # RMS over the sampled steps of ||G_in||
                "norm_out": np.sqrt(sq_out / n),
                "share_out": sq_out / (sq_in + sq_out) if (sq_in + sq_out) > 0 else float("nan"),
                "frac_rows_in": rows_in / n / size,  # mean fraction of rows with a non-zero G_in per step
            }
            if self.tied:
                out["norm"] = np.sqrt(sq_all / n)
                out["cos_g_gout"] = cos_sum / cos_n if cos_n else float("nan")
            return out

        total = part(
            self.sq_in.sum(), self.sq_out.sum(), self.rows_in.sum(), sizes.sum(),
            self.total_cos_sum, self.total_cos_n, self.sq_all.sum(),
        )  # fmt: skip
        per_bucket = [
            part(self.sq_in[i], self.sq_out[i], self.rows_in[i], sizes[i], self.cos_sum[i], self.cos_n[i],
                 self.sq_all[i])
            for i in range(len(self.buckets))
        ]  # fmt: skip
        result = {"sampled_steps": n, **total, "buckets": per_bucket}
        self._reset()
        return result
