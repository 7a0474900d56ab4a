"""Data-parallel training helpers: ``gazezoom train`` runs unchanged under ``torchrun``.

``torchrun --nproc_per_node N [--nnodes M --node_rank R --rdzv_endpoint HOST:PORT] -m gazezoom train …`` sets
``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR``…; :func:`setup` then joins the process group (NCCL on CUDA,
gloo on CPU), pins each process to its GPU, and the trainer wraps its model in ``DistributedDataParallel``.
Without those variables everything here is a no-op (``world == 1``).

Data: one *global* sequence of batches, the very sequence a single process reads (``gazezoom.models.data.iter_batches``:
batched sources in order, per-sample sources shuffled per epoch with ``(seed, epoch)``). Rank ``r`` of ``W`` reads
global batches ``g, g + W, …`` from ``g = start + r`` (:func:`shard_batches`), so every batch of an epoch is read
exactly once across the ranks and each rank reads only its own. The trainer stores how many global batches were
consumed; a run resumed with another number of processes continues the same sequence where it stopped.

Only rank 0 logs, validates, writes checkpoints and plots (:attr:`DistContext.is_main`).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .errors import InputValueError

__all__ = ["DistContext", "setup", "teardown", "wrap", "unwrap", "shard_batches", "all_mean", "env_world_size"]


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world`` processes, ``local_rank`` on its node, its ``device``."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str = ""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def env_world_size() -> int:
    """``WORLD_SIZE`` set by torchrun (1 without it)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise InputValueError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not an integer") from None


def setup(device: str | torch.device = "cpu", *, timeout_s: float = 1800.0) -> DistContext:
    """Join the torchrun process group when ``WORLD_SIZE > 1``; returns the process's :class:`DistContext`.

    ``device``: ``"cpu"`` → gloo; ``"cuda"`` → NCCL, and this process uses ``cuda:LOCAL_RANK``.
    """
    import torch.distributed as dist

    device = torch.device(device)
    world = env_world_size()
    if world <= 1:
        return DistContext(device=device)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputValueError("--device cuda under torchrun, but torch sees no CUDA device; use --device cpu")
        if local >= torch.cuda.device_count():
            raise InputValueError(
                f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPUs on this node; lower --nproc_per_node"
            )
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        kw = {"device_id": device} if backend == "nccl" else {}
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s), **kw)
    return DistContext(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=local, device=device, backend=backend)


def teardown(ctx: DistContext) -> None:
    """Leave the process group (after a final barrier, so rank 0's last checkpoint is on disk for everyone)."""
    import torch.distributed as dist

    if ctx.active and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """``DistributedDataParallel(model)`` when several processes train, else ``model`` itself.

    DDP syncs buffers (BatchNorm running statistics) from rank 0 at every forward, so rank 0's checkpoint is the model.
    """
    if not ctx.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)  # buffers (BatchNorm statistics) follow rank 0


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside a DDP wrapper (what is saved and validated)."""
    return getattr(model, "module", model)


def all_mean(value: float, ctx: DistContext) -> float:
    """Mean of a Python number over all ranks (itself when alone)."""
    if not ctx.active:
        return float(value)
    import torch.distributed as dist

    t = torch.tensor([float(value)], dtype=torch.float64, device=ctx.device if ctx.backend == "nccl" else "cpu")
    dist.all_reduce(t)
    return float(t.item()) / ctx.world


def shard_batches(
    dataset, batch_size: int, *, start: int = 0, rank: int = 0, world: int = 1, seed: int = 0, device=None
) -> Iterator[dict]:
    """Global batches ``start + rank, start + rank + world, …`` of the sequence that
    ``gazezoom.models.data.iter_batches(dataset, batch_size, seed=seed)`` yields, forever (the distributed sampler).

    Only this rank's batches are read: batched items by index, per-sample items through the epoch's permutation.
    With ``world == 1`` this is exactly ``iter_batches(dataset, batch_size, start=start, seed=seed)``.
    """
    from .models.data import iter_batches

    if world < 1 or not 0 <= rank < world:
        raise InputValueError(f"need 0 <= rank < world, got rank {rank}, world {world}")
    return iter_batches(dataset, batch_size, start=start + rank, stride=world, seed=seed, device=device)
