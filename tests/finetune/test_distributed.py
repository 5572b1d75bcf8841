"""Every collective of a torchrun run carries a tensor on the model's device.

NCCL (the CUDA backend) refuses CPU tensors, so `_agree` broadcasting a CPU
tensor broke every multi-GPU run at its first evaluation; gloo on CPUs, the
only backend these tests can run, takes CPU tensors either way. So the tests
pin the one route: only finetune/distributed.py touches torch.distributed,
its tensors are made by `on_device` on the device it is told (checked with
"meta" tensors, which need no GPU), and its collectives get them. The
two-process gloo run itself is tests/finetune/test_torchrun.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from finetune.distributed import Ranks, on_device

PACKAGE = Path(__file__).resolve().parents[2] / "finetune"


def _dotted(node: ast.AST) -> str:
    """`torch.distributed.broadcast` for the attribute chain of that name ("" otherwise)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _uses_torch_distributed(path: Path) -> list[int]:
    """The lines of `path` that import or name torch.distributed."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named = any(a.name.startswith("torch.distributed") for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            named = (node.module or "").startswith("torch.distributed") or (
                node.module == "torch" and any(a.name == "distributed" for a in node.names)
            )
        elif isinstance(node, ast.Attribute):
            named = _dotted(node) == "torch.distributed"
        else:
            continue
        if named:
            lines.append(node.lineno)
    return lines


def test_only_the_distributed_module_calls_torch_distributed():
    found = {
        path.name: lines
        for path in sorted(PACKAGE.glob("*.py"))
        if (lines := _uses_torch_distributed(path)) and path.name != "distributed.py"
    }
    assert found == {}, f"collectives outside finetune/distributed.py (file: lines): {found}"
    assert _uses_torch_distributed(PACKAGE / "distributed.py")  # the check sees them


@pytest.mark.parametrize("value", [0, 3, 10**12, True])
def test_on_device_puts_the_value_on_the_device_it_is_told(value):
    import torch

    t = on_device(value, torch.device("meta"))
    assert t.device.type == "meta"
    assert (t.dtype, tuple(t.shape)) == (torch.int64, (1,))
    assert on_device(value, torch.device("cpu")).item() == int(value)


@pytest.fixture
def one_rank_group():
    """A real gloo process group of one process, started and ended here."""
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_agree_hands_the_broadcast_a_tensor_on_the_ranks_device(one_rank_group, monkeypatch):
    import torch
    import torch.distributed as dist

    seen = []
    real = dist.broadcast

    def recording(tensor, *args, **kwargs):
        seen.append(tensor.device)
        return real(tensor, *args, **kwargs)

    monkeypatch.setattr(dist, "broadcast", recording)
    # Rank 0 of a world of two: one of one would agree without a collective.
    ranks = Ranks(rank=0, world=2, local_rank=0, device=torch.device("cpu"))
    assert ranks.agree(7) == 7
    assert ranks.agree(False) == 0
    assert seen == [ranks.device, ranks.device]


def test_a_single_process_agrees_without_a_process_group():
    import torch

    ranks = Ranks(rank=0, world=1, local_rank=0, device=torch.device("meta"))
    assert ranks.agree(5) == 5  # no collective: a meta tensor could not be read back
    ranks.barrier()
    ranks.close()
