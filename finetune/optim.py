"""The optimizer of a run: AdamW, or Muon for the block matrices with AdamW for the rest.

`--optimizer adamw` (the default): AdamW, with weight decay on the matrices
only (not on biases or LayerNorms), fused on CUDA.

`--optimizer muon`: Muon (torch.optim.Muon; Jordan et al. 2024) orthogonalises
the momentum of each hidden 2-D matrix, the attention and MLP weights of the
transformer blocks, and steps it at `--muon-lr`. Everything Muon is not meant
for stays with AdamW at `--lr`: the token and position embeddings (the tied
head is the token embedding), the LayerNorms and the biases.

Why --muon-lr defaults to 0.02: Muon's update is an orthogonalised matrix
(singular values near 1) times the lr, whatever the gradient's scale, and
torch's default ("original", Keller Jordan's) adjustment multiplies the lr by
sqrt(max(1, out/in)). So its lr is a step length in the weights' own units,
not a multiple of Adam's normalised moments: 0.02 is the default of the
reference implementation (KellerJordan/Muon), tuned on GPT-2-sized models,
and about 20x AdamW's 1e-3. (The other adjustment torch offers,
"match_rms_adamw", rescales the update to AdamW's size, and would take an
AdamW-like lr instead.)

Newton-Schulz's precision follows the run's: torch's Muon always
orthogonalises in bf16, which a CPU without bf16 arithmetic (AVX2 only)
emulates about 20x slower than fp32: on such a host 8 layers of 256 took
17 s a step in bf16 against 0.9 s in fp32, so a Muon arm made a quarter of
AdamW's steps in the same minutes. Where the run itself trains in fp32
(`--dtype auto` found bf16 slow, or `--dtype fp32`), `Fp32Muon` does
torch's very step with the iteration in fp32.
"""

from __future__ import annotations

import math

# `--optimizer` -> what it trains with, in words (benchmarks print it).
OPTIMIZERS = {"adamw": "AdamW", "muon": "Muon + AdamW"}


def param_split(model, optimizer: str = "muon") -> dict[str, list[str]]:
    """The names of the model's parameters in each group: "muon" (the block matrices,
    empty for adamw), "decay" (AdamW, with weight decay) and "no_decay" (AdamW, without)."""
    groups: dict[str, list[str]] = {"muon": [], "decay": [], "no_decay": []}
    for name, p in model.named_parameters():
        if optimizer == "muon" and p.dim() == 2 and name.startswith("transformer.h."):
            groups["muon"].append(name)
        elif p.dim() >= 2:
            groups["decay"].append(name)
        else:
            groups["no_decay"].append(name)
    return groups


def _stored_transposed(model) -> set[str]:
    """Names of the weights stored [in, out]: HF GPT-2's Conv1D layers (nn.Linear stores
    [out, in])."""
    from transformers.pytorch_utils import Conv1D

    return {f"{prefix}.weight" for prefix, m in model.named_modules() if isinstance(m, Conv1D)}


def orientation_scale(shape, transposed: bool) -> float:
    """The factor on a Muon group's lr that gives a matrix stored [in, out] the lr
    adjustment of its [out, in] shape.

    torch's Muon scales a matrix's lr by sqrt(max(1, rows / cols)) of the shape
    it sees, written for nn.Linear's [out, in]. GPT-2's Conv1D stores [in, out],
    so unaided Muon would step c_fc ([64, 256] stored, 256 outputs) by 1x
    instead of 2x, and mlp.c_proj by 2x instead of 1x. The orthogonalisation
    itself does not care (it transposes tall matrices anyway); only this
    factor does, so the group's lr carries the ratio of the two.
    """
    rows, cols = shape
    if not transposed:
        return 1.0
    seen = math.sqrt(max(1.0, rows / cols))
    meant = math.sqrt(max(1.0, cols / rows))
    return meant / seen


def newton_schulz(grad, coefficients: tuple[float, float, float], steps: int, eps: float, dtype):
    """Muon's orthogonalisation of `grad` (a 2-D matrix) in `dtype`: the quintic
    Newton-Schulz iteration of torch.optim.Muon (and Keller Jordan's reference), which
    runs it in bf16."""
    import torch

    a, b, c = coefficients
    tall = grad.size(0) > grad.size(1)
    x = grad.to(dtype)
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)  # a spectral norm of at most 1
    for _ in range(steps):
        gram = x @ x.T
        update = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.addmm(x, update, x, beta=a)
    return x.T if tall else x


def _muon_class():
    """torch.optim.Muon with its Newton-Schulz iteration in fp32 (module docstring)."""
    import torch

    class Fp32Muon(torch.optim.Muon):
        """torch's Muon, same settings, state and step, the orthogonalisation in fp32."""

        @torch.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                lr, decay, momentum = group["lr"], group["weight_decay"], group["momentum"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.ndim != 2 or torch.is_complex(p):
                        raise ValueError("Muon takes real 2-D matrices only")
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(p.grad)
                    buf = state["momentum_buffer"]
                    buf.lerp_(p.grad, 1 - momentum)
                    update = p.grad.lerp(buf, momentum) if group["nesterov"] else buf
                    update = newton_schulz(
                        update,
                        group["ns_coefficients"],
                        group["ns_steps"],
                        group["eps"],
                        torch.float32,
                    )
                    p.mul_(1 - lr * decay)
                    p.add_(update, alpha=-adjusted_lr(lr, group["adjust_lr_fn"], p.shape))
            return loss

    return Fp32Muon


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    """torch.optim.Muon's per-matrix lr: "original" (the default) sqrt(max(1, rows/cols)),
    "match_rms_adamw" 0.2 * sqrt(max(rows, cols))."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1.0, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    raise ValueError(f"unknown adjust_lr_fn {adjust_lr_fn!r}")


class Optimizer:
    """One optimizer (AdamW) or two (Muon and AdamW), stepped as one.

    `peaks` holds each param group's peak learning rate, which `set_lr`
    multiplies by the schedule's factor. They come from this run's settings,
    not from a checkpoint, so a new --lr on --resume takes effect.
    """

    def __init__(self, kind: str, parts: dict):
        self.kind, self.parts = kind, parts
        self.peaks = [group["lr"] for group in self.param_groups]

    @property
    def param_groups(self) -> list[dict]:
        return [group for part in self.parts.values() for group in part.param_groups]

    def set_lr(self, factor: float) -> None:
        """Set every group's learning rate to its peak times `factor`."""
        for group, peak in zip(self.param_groups, self.peaks, strict=True):
            group["lr"] = peak * factor

    def step(self) -> None:
        for part in self.parts.values():
            part.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for part in self.parts.values():
            part.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        """AdamW's own state dict (as checkpoints always held it), or one per part."""
        if self.kind == "adamw":
            return self.parts["adamw"].state_dict()
        return {name: part.state_dict() for name, part in self.parts.items()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned; raises KeyError or ValueError for another shape."""
        if self.kind == "adamw":
            self.parts["adamw"].load_state_dict(state)
            return
        for name, part in self.parts.items():
            part.load_state_dict(state[name])


def make_optimizer(model, cfg, device, bf16: bool = True) -> Optimizer:
    """The optimizer `cfg.optimizer` names for `model` (see the module docstring).

    `cfg` is a finetune.config.TrainConfig; `bf16` whether the run trains in bf16
    (else Muon's Newton-Schulz runs in fp32 too: Fp32Muon).
    """
    import torch

    kind = cfg.optimizer
    params = dict(model.named_parameters())
    split = param_split(model, kind)
    adamw = torch.optim.AdamW(
        [
            {"params": [params[n] for n in split["decay"]], "weight_decay": cfg.weight_decay},
            {"params": [params[n] for n in split["no_decay"]], "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(cfg.beta1, cfg.beta2),
        fused=device.type == "cuda",
    )
    if kind == "adamw":
        return Optimizer(kind, {"adamw": adamw})

    # torch's Muon shrinks weights by lr * weight_decay a step, as AdamW does; at
    # ~20x AdamW's lr the same decay would shrink them ~20x faster, so scale it
    # to shrink the matrices at AdamW's rate.
    decay = cfg.weight_decay * cfg.lr / cfg.muon_lr if cfg.muon_lr > 0 else 0.0
    transposed = _stored_transposed(model)
    by_scale: dict[float, list] = {}
    for name in split["muon"]:
        p = params[name]
        by_scale.setdefault(orientation_scale(p.shape, name in transposed), []).append(p)
    muon_class = torch.optim.Muon if bf16 else _muon_class()
    muon = muon_class(
        [
            # The lr carries the orientation factor; the decay is divided by it,
            # so the shrink (lr * weight_decay) stays the same for every matrix.
            {"params": ps, "lr": cfg.muon_lr * scale, "weight_decay": decay / scale}
            for scale, ps in sorted(by_scale.items())
        ],
        lr=cfg.muon_lr,
    )
    return Optimizer(kind, {"muon": muon, "adamw": adamw})
