"""Data-parallel training with PyTorch's own engine: ``torchrun`` starts the processes, DistributedDataParallel
averages the gradients (Gloo on CPU, NCCL on GPU). Nothing here manages processes.

The global batch is the single-process batch: with N processes, process r trains the r-th contiguous block of
B / N columns of the (time, batch) stream, so an LSTM's state is carried along its own columns exactly as in one
process, and the averaged gradient equals the single-process gradient (each process's cost is divided by its own
batch, so the mean over processes divides by B). Only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from embedeval.errors import EmbedevalError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world() -> World:
    """This process's place in the job (rank 0 of 1 outside torchrun)."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: str) -> World:
    """Join the process group torchrun describes in the environment (a no-op outside torchrun)."""
    if not launched_by_torchrun() or (dist.is_available() and dist.is_initialized()):
        return world()
    backend = "nccl" if device == "cuda" else "gloo"
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    return world()


def check_batch_splits(batch_size: int, w: World) -> None:
    if w.distributed and batch_size % w.size:
        raise EmbedevalError(
            f"--batch-size {batch_size} does not split evenly over {w.size} processes; use a multiple of {w.size}"
        )


def shard_columns(batched: torch.Tensor, w: World) -> torch.Tensor:
    """This rank's contiguous block along dimension 1: of the (time, batch) stream, or of an LSTM state
    (layers, batch, hidden) saved for every column."""
    if not w.distributed:
        return batched
    check_batch_splits(batched.size(1), w)
    width = batched.size(1) // w.size
    return batched[:, w.rank * width : (w.rank + 1) * width].contiguous()


def any_rank(flag: bool, w: World) -> bool:
    """True on every rank when it is true on any (all ranks must stop at the same step, or the rest would wait
    for a gradient that never comes)."""
    if not w.distributed:
        return flag
    value = torch.tensor([1 if flag else 0], dtype=torch.int64)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def sum_over_ranks(values: list[float], w: World) -> list[float]:
    """Element-wise sums over every process (float64)."""
    if not w.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def gather_columns(tensors: list[torch.Tensor], w: World, dim: int = 1) -> list[torch.Tensor]:
    """Each rank's block of columns, put back together in rank order (for a checkpoint of the LSTM state)."""
    if not w.distributed:
        return tensors
    whole = []
    for t in tensors:
        parts = [torch.empty_like(t) for _ in range(w.size)]
        dist.all_gather(parts, t.contiguous())
        whole.append(torch.cat(parts, dim=dim))
    return whole


def gather_rng_states(w: World) -> list[torch.Tensor]:
    """Every rank's CPU random state, in rank order (dropout masks differ per rank)."""
    state = torch.get_rng_state()
    if not w.distributed:
        return [state]
    parts = [torch.empty_like(state) for _ in range(w.size)]
    dist.all_gather(parts, state)
    return parts
