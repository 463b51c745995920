"""Summed cross-entropy over the vocabulary, fused with the output layer and computed in blocks of rows.

Written as ``F.cross_entropy(F.linear(h, V, b), y)``, an LM's output layer materialises N positions x C words of
logits, then a log-softmax of the same size and, in the backward, its gradient: three N x C arrays alive at once.
Here each block of ``chunk`` rows goes from the matmul to its gradient while only that block exists, and the
gradients of the features, V and the bias are formed in the forward pass (as the fused kernels of Liger and Apple's
cut-cross-entropy do on GPUs), so the backward only scales them by the incoming gradient. The matmuls are the same
three as the unfused loss (logits, dL/dh = G V, dL/dV = G^T h); nothing is recomputed.

What it buys on the CPUs measured (benchmarks/bench_fused_loss.py, bench_lm.py, bench_transformer.py;
docs/performance.md): memory, and since it keeps one logits block for reuse and forms the softmax in fewer passes
(kernel 2), time. At WikiText-2's 33,278 words and 2,240 positions one forward and backward peaked 148 MB above its
inputs against 836 MB unfused, in 0.60x its time; training `pw-small` and `tf-small` on two threads, the trainers
with the reused block and kernel 2 ran at 1.15x and 1.33x the tokens/s of the version before them
(benchmarks/bench_lm_versions.py). Blocks much smaller than the default are slower: each adds a pass over dL/dV.

The weight passed in may be the gradient tap's alias of a tied matrix: its gradient is returned to that alias
like any autograd input, so the tap still sees the output side's part alone.

The arithmetic differs from ``F.cross_entropy`` only in order (block sums; the softmax formed from exp(z - max)
rather than by log-softmax's own kernel): values agree to float32 rounding, not bit for bit, so a run records
which loss it used (``LMConfig.loss_chunk``, ``LMConfig.loss_kernel``) and a resumed run keeps its own.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F

# rows per block: 1,024 x 33,278 words x 4 bytes = 136 MB at WikiText-2's vocabulary; PTB's LSTM batch (400 rows) is
# one block
DEFAULT_CHUNK = 1024
KERNEL = 2  # the softmax kernel of new runs (see _softmax_minus_onehot)


class _Workspace(threading.local):
    """One reusable block of logits per thread. A fresh N x C array each step costs more than its arithmetic here:
    the allocator hands large blocks back to the system and every page is faulted in again on the next step."""

    buffer: torch.Tensor | None = None

    def block(self, rows: int, like: torch.Tensor, cols: int) -> torch.Tensor:
        size = rows * cols
        buf = self.buffer
        if buf is None or buf.numel() < size or buf.dtype != like.dtype or buf.device != like.device:
            buf = self.buffer = torch.empty(size, dtype=like.dtype, device=like.device)
        return buf[:size].view(rows, cols)


_WORKSPACE = _Workspace()


def _softmax_minus_onehot(z: torch.Tensor, gold: torch.Tensor, kernel: int, grads: bool) -> torch.Tensor:
    """Sum over the block's rows of logsumexp(z) - z[gold] (float64), and, with ``grads``, z overwritten by
    d(sum CE)/dz = softmax(z) - onehot(gold).

    Kernel 2 (the default since it was added): exp(z - max) once, its row sums give logsumexp, and the same array
    divided by them is the softmax (five operations over the block: max, subtract, exp, sum, scale). Kernel 1, that
    of runs started before, forms logsumexp on its own and then exp(z - logsumexp) (six, one of them into a
    block-sized temporary); the two agree to float32 rounding, so a run keeps the kernel it started with."""
    picked = z.gather(1, gold.unsqueeze(1)).squeeze(1)
    if kernel == 1:
        lse = torch.logsumexp(z, dim=1)
        if grads:
            z.sub_(lse.unsqueeze(1)).exp_()
    else:
        top = z.amax(dim=1, keepdim=True)
        sums = z.sub_(top).exp_().sum(dim=1)
        lse = top.squeeze(1) + sums.log()
        if grads:
            z.mul_(sums.reciprocal_().unsqueeze(1))
    if grads:
        z[torch.arange(z.size(0), device=z.device), gold] -= 1.0
    return (lse - picked).sum(dtype=torch.float64)


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features, weight, bias, targets, chunk, kernel):  # type: ignore[override]
        need_f, need_w, need_b = ctx.needs_input_grad[:3]
        grads = need_f or need_w or need_b
        # the first block writes the weight's and bias's gradients (below); with no rows there is none, and they are 0
        new = torch.empty_like if features.size(0) else torch.zeros_like
        grad_f = torch.empty_like(features) if need_f else None
        grad_w = new(weight) if need_w else None
        grad_b = new(bias) if (need_b and bias is not None) else None
        total = features.new_zeros((), dtype=torch.float64)
        weight_t = weight.t()
        for start in range(0, features.size(0), chunk):
            rows = features[start : start + chunk]
            z = _WORKSPACE.block(rows.size(0), features, weight.size(0))
            if bias is not None:
                torch.addmm(bias, rows, weight_t, out=z)
            else:
                torch.mm(rows, weight_t, out=z)
            total += _softmax_minus_onehot(z, targets[start : start + chunk], kernel, grads)
            if not grads:
                continue
            if grad_f is not None:
                torch.mm(z, weight, out=grad_f[start : start + chunk])
            # the first block writes the weight's and bias's gradients, later ones add to them
            if grad_w is not None:
                torch.mm(z.t(), rows, out=grad_w) if start == 0 else grad_w.addmm_(z.t(), rows)
            if grad_b is not None:
                torch.sum(z, 0, out=grad_b) if start == 0 else grad_b.add_(z.sum(0))
        ctx.save_for_backward(*(g if g is not None else torch.empty(0) for g in (grad_f, grad_w, grad_b)))
        ctx.present = (grad_f is not None, grad_w is not None, grad_b is not None)
        ctx.spent = False
        return total.to(features.dtype)

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        # the gradients were formed for this call alone, so they are scaled in place (no second V-sized array); a
        # second backward through the same loss would scale them twice and is refused instead
        if ctx.spent:
            raise RuntimeError("the fused cross-entropy's gradients were handed out already: call backward once")
        ctx.spent = True
        saved = ctx.saved_tensors
        out = [g.mul_(grad_out) if present else None for g, present in zip(saved, ctx.present)]
        return out[0], out[1], out[2], None, None, None


def linear_cross_entropy(
    features: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    targets: torch.Tensor,
    chunk: int = DEFAULT_CHUNK,
    kernel: int = KERNEL,
) -> torch.Tensor:
    """sum_i CE(softmax(features_i W^T + b), targets_i) for features (..., h), W (C, h), targets (...).

    ``chunk`` rows at a time; ``chunk <= 0`` is the unfused ``F.cross_entropy(F.linear(...))``, kept for runs
    that were started with it. ``kernel``: how a block's softmax is formed (:func:`_softmax_minus_onehot`)."""
    flat = features.reshape(-1, features.size(-1))
    gold = targets.reshape(-1)
    if chunk <= 0:
        return F.cross_entropy(F.linear(flat, weight, bias), gold, reduction="sum")
    return _LinearCrossEntropy.apply(flat, weight, bias, gold, int(chunk), int(kernel))
