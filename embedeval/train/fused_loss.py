"""Summed cross-entropy over the vocabulary, fused with the output layer and computed in blocks of rows.

Written as ``F.cross_entropy(F.linear(h, V, b), y)``, an LM's output layer materialises N positions x C words of
logits, then a log-softmax of the same size and, in the backward, its gradient: three N x C arrays alive at once.
Here each block of ``chunk`` rows goes from the matmul to its gradient while only that block exists, and the
gradients of the features, V and the bias are formed in the forward pass (as the fused kernels of Liger and Apple's
cut-cross-entropy do on GPUs), so the backward only scales them by the incoming gradient. The matmuls are the same
three as the unfused loss (logits, dL/dh = G V, dL/dV = G^T h); nothing is recomputed.

What it buys on the CPUs measured (benchmarks/bench_fused_loss.py, docs/performance.md): memory, not time. At
WikiText-2's 33,278 words and 2,240 positions one forward and backward peaked 285 MB above its inputs against 836 MB
unfused, at 0.98x the time; at PTB's (400 positions, 10,000 words) 0.48x the memory at 1.00x the time. Blocks much
smaller than the default are slower: each adds a pass over dL/dV.

The weight passed in may be the gradient tap's alias of a tied matrix: its gradient is returned to that alias
like any autograd input, so the tap still sees the output side's part alone.

The arithmetic differs from ``F.cross_entropy`` only in order (block sums; the softmax is exp(z - logsumexp)
rather than log-softmax's own kernel): values agree to float32 rounding, not bit for bit, so a run records
which loss it used (``LMConfig.loss_chunk``) and a resumed run keeps its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# rows per block: 1,024 x 33,278 words x 4 bytes = 136 MB at WikiText-2's vocabulary; PTB's LSTM batch (400 rows) is
# one block
DEFAULT_CHUNK = 1024


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features, weight, bias, targets, chunk):  # type: ignore[override]
        need_f, need_w, need_b = ctx.needs_input_grad[:3]
        grads = need_f or need_w or need_b
        grad_f = torch.empty_like(features) if need_f else None
        grad_w = torch.zeros_like(weight) if need_w else None
        grad_b = torch.zeros_like(bias) if (need_b and bias is not None) else None
        total = features.new_zeros((), dtype=torch.float64)
        weight_t = weight.t()
        for start in range(0, features.size(0), chunk):
            rows = features[start : start + chunk]
            gold = targets[start : start + chunk]
            z = torch.addmm(bias, rows, weight_t) if bias is not None else rows @ weight_t
            lse = torch.logsumexp(z, dim=1)
            picked = z.gather(1, gold.unsqueeze(1)).squeeze(1)
            total += (lse - picked).sum(dtype=torch.float64)
            if not grads:
                continue
            # d(sum CE)/dz = softmax(z) - onehot(gold), formed in place over the block
            z.sub_(lse.unsqueeze(1)).exp_()
            z[torch.arange(z.size(0)), gold] -= 1.0
            if grad_f is not None:
                torch.mm(z, weight, out=grad_f[start : start + chunk])
            if grad_w is not None:
                grad_w.addmm_(z.t(), rows)
            if grad_b is not None:
                grad_b += z.sum(0)
        ctx.save_for_backward(*(g if g is not None else torch.empty(0) for g in (grad_f, grad_w, grad_b)))
        ctx.present = (grad_f is not None, grad_w is not None, grad_b is not None)
        return total.to(features.dtype)

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        saved = ctx.saved_tensors
        out = [g * grad_out if present else None for g, present in zip(saved, ctx.present)]
        return out[0], out[1], out[2], None, None


def linear_cross_entropy(
    features: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    chunk: int = DEFAULT_CHUNK,
) -> torch.Tensor:
    """sum_i CE(softmax(features_i W^T + b), targets_i) for features (..., h), W (C, h), targets (...).

    ``chunk`` rows at a time; ``chunk <= 0`` is the unfused ``F.cross_entropy(F.linear(...))``, kept for runs
    that were started with it."""
    flat = features.reshape(-1, features.size(-1))
    gold = targets.reshape(-1)
    if chunk <= 0:
        return F.cross_entropy(F.linear(flat, weight, bias), gold, reduction="sum")
    return _LinearCrossEntropy.apply(flat, weight, bias, gold, int(chunk))
