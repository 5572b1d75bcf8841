"""The processes of a torchrun run, and the only place that calls torch.distributed.

Under torchrun every rank trains on its own batches and DDP averages the
gradients; whatever else the ranks must agree on (stop early, evaluate now,
the fitted run length) rank 0 decides and `Ranks.agree` broadcasts.

Every tensor a collective sees is made by `on_device` on the model's device:
NCCL, the CUDA backend, refuses CPU tensors ("No backend type associated with
device type cpu"), and gloo, the CPU backend, takes CPU ones. The tests run
gloo on CPUs only, where both would pass, so they check instead that no other
module calls a collective and that `on_device` puts its tensor where it is told.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


def dist_info() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment, or a single process."""
    return (
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
        int(os.environ.get("LOCAL_RANK", 0)),
    )


def model_device(model):
    """The torch.device the model's parameters live on."""
    return next(model.parameters()).device


def on_device(value: int, device):
    """`value` as a one-element int64 tensor on `device`, for a collective to carry.

    int64: the values agreed on are counts and flags, and NCCL, gloo and every
    device take int64 (MPS has no float64).
    """
    import torch

    return torch.tensor([int(value)], dtype=torch.int64).to(device)


@dataclass
class Ranks:
    """This process's place among the ranks, and the collectives they share.

    `device` is the model's device: every collective's tensor is put there.
    """

    rank: int
    world: int
    local_rank: int
    device: object

    @property
    def master(self) -> bool:
        """True on rank 0, the one that scores, logs and writes."""
        return self.rank == 0

    @classmethod
    def start(cls, device_setting: str, threads: int | None) -> Ranks:
        """Join the process group (under torchrun) and choose this process's device.

        `device_setting` is TrainConfig.device: auto, cpu, cuda, cuda:1, mps.
        NCCL where the ranks train on CUDA, gloo where they train on CPUs.
        """
        import torch

        rank, world, local_rank = dist_info()
        if device_setting == "auto":
            device = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
        else:
            device = torch.device(device_setting)
        if device.type == "cuda" and device.index is None:
            # Plain "cuda": each rank its own GPU (DDP and NCCL's barrier need the index).
            device = torch.device("cuda", local_rank)
        if device.type == "cuda":
            torch.cuda.set_device(device)
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        if world > 1:
            torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if threads:
            torch.set_num_threads(threads)
        return cls(rank, world, local_rank, device)

    def agree(self, value: int) -> int:
        """Rank 0's `value` on every rank, so that all ranks take the same branch."""
        if self.world == 1:
            return int(value)
        import torch

        t = on_device(value, self.device)
        torch.distributed.broadcast(t, src=0)
        return int(t.item())

    def barrier(self) -> None:
        """Wait until every rank gets here (nothing to wait for in a single process)."""
        if self.world == 1:
            return
        import torch

        # NCCL's barrier is a collective on a device: name ours, or it guesses.
        ids = [self.device.index] if self.device.type == "cuda" else None
        torch.distributed.barrier(device_ids=ids)

    def wrap(self, model):
        """The model as the loop runs it: DDP across the ranks, or the model itself."""
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel as DDP

        cuda = self.device.type == "cuda"
        return DDP(model, device_ids=[self.device.index] if cuda else None, broadcast_buffers=False)

    def close(self) -> None:
        """Wait for every rank, then leave the process group."""
        if self.world == 1:
            return
        import torch

        self.barrier()
        torch.distributed.destroy_process_group()


def dump_weights(model, folder: Path, rank: int) -> None:
    """Write folder/rank{N}.sha256 of this rank's parameters, so a test can see DDP kept
    the ranks equal."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"rank{rank}.sha256").write_text(h.hexdigest() + "\n")
