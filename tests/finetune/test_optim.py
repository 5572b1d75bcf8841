"""`--optimizer muon`: Muon for the blocks' matrices, AdamW for the rest, each at its own lr.

Muon's reference here is torch.optim.Muon itself, run on the [out, in]
matrices of nn.Linear's layout that it was written for.
"""

from __future__ import annotations

import pytest

from finetune.cli import main as cli_main
from finetune.config import TrainConfig
from finetune.optim import make_optimizer, newton_schulz, orientation_scale, param_split
from finetune.outputs import ExitCode
from finetune.report import read_metrics
from tests.finetune.training_corpus import tiny_args, write_corpus

SHAPE = "n_layer=2,n_embd=64,n_head=2,n_ctx=64"
BLOCK_MATRICES = (
    "attn.c_attn.weight",
    "attn.c_proj.weight",
    "mlp.c_fc.weight",
    "mlp.c_proj.weight",
)


def _model(seed: int = 0):
    import torch

    from finetune.model_setup import new_model

    torch.manual_seed(seed)
    return new_model(SHAPE)


def test_muon_takes_the_blocks_matrices_and_adamw_the_embeddings_layernorms_and_biases():
    import torch

    model = _model()
    split = param_split(model, "muon")
    assert split["muon"] == [f"transformer.h.{i}.{m}" for i in range(2) for m in BLOCK_MATRICES]
    # The tied head is the token embedding: one parameter, with AdamW.
    assert split["decay"] == ["transformer.wte.weight", "transformer.wpe.weight"]
    assert all(
        n.endswith((".bias", "ln_1.weight", "ln_2.weight", "ln_f.weight"))
        for n in split["no_decay"]
    )
    assert len(split["no_decay"]) == 2 * 8 + 2  # per block: 2 LayerNorms x 2 + 4 biases; ln_f x 2

    optimizer = make_optimizer(model, TrainConfig(optimizer="muon"), torch.device("cpu"))
    params = dict(model.named_parameters())

    def names(part) -> set[str]:
        ids = {id(p) for group in part.param_groups for p in group["params"]}
        return {n for n, p in params.items() if id(p) in ids}

    assert names(optimizer.parts["muon"]) == set(split["muon"])
    assert names(optimizer.parts["adamw"]) == set(split["decay"] + split["no_decay"])
    assert param_split(model, "adamw")["muon"] == []


def test_a_conv1d_matrix_takes_the_step_torch_muon_gives_its_linear_transpose():
    """GPT-2 stores weights [in, out]; Muon's lr adjustment must see [out, in]."""
    import torch

    model = _model()
    cfg = TrainConfig(optimizer="muon", muon_lr=0.02, lr=1e-3, weight_decay=0.1)
    optimizer = make_optimizer(model, cfg, torch.device("cpu"))
    block = model.transformer.h[0]
    matrices = {
        "attn.c_attn": block.attn.c_attn.weight,  # [64, 192] stored: 192 outputs
        "attn.c_proj": block.attn.c_proj.weight,
        "mlp.c_fc": block.mlp.c_fc.weight,  # [64, 256] stored
        "mlp.c_proj": block.mlp.c_proj.weight,  # [256, 64] stored: 64 outputs
    }
    torch.manual_seed(1)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    before = {k: w.detach().clone() for k, w in matrices.items()}
    # The reference: torch's Muon on [out, in] copies, decayed as finetune.optim decays.
    linear = {k: w.detach().T.clone().requires_grad_() for k, w in matrices.items()}
    for k, w in linear.items():
        w.grad = matrices[k].grad.T.clone()
    decay = cfg.weight_decay * cfg.lr / cfg.muon_lr
    reference = torch.optim.Muon(list(linear.values()), lr=cfg.muon_lr, weight_decay=decay)
    optimizer.set_lr(1.0)
    optimizer.step()
    reference.step()
    for k, w in matrices.items():
        ours, theirs = (w - before[k]).T, linear[k].detach() - before[k].T
        # Equal up to Newton-Schulz's bf16 rounding (it multiplies G G^T, or G^T G for
        # the transpose); a wrong lr adjustment would be off by 2x or sqrt(3)x.
        assert (ours - theirs).norm() / theirs.norm() < 0.02, k
    assert orientation_scale((64, 256), transposed=True) == 2.0  # c_fc: sqrt(256 / 64), not 1
    assert orientation_scale((256, 64), transposed=True) == 0.5  # mlp.c_proj: 1, not 2


def test_muon_alone_teaches_a_tiny_model_a_repeated_batch():
    """AdamW's lr is ~0 here, so the embeddings stand still and only Muon's steps count."""
    import torch
    import torch.nn.functional as F

    from tests.conftest import one_torch_thread

    model = _model()
    wte = model.transformer.wte.weight.detach().clone()
    optimizer = make_optimizer(model, TrainConfig(optimizer="muon", lr=1e-30), torch.device("cpu"))
    ids = torch.randint(0, 50257, (2, 17), generator=torch.Generator().manual_seed(1))
    losses = []
    with one_torch_thread():
        for _ in range(20):
            optimizer.set_lr(1.0)
            logits = model(input_ids=ids[:, :-1]).logits
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
    assert torch.equal(model.transformer.wte.weight, wte)
    assert losses[-1] < losses[0] - 1.0  # 10.85 -> 9.59 here


NS = (3.4445, -4.775, 2.0315)  # torch's Muon's quintic coefficients


def test_newton_schulz_in_bf16_is_torchs_own_iteration():
    """The iteration Fp32Muon runs is torch's: in bf16 the two agree to the bit."""
    import torch
    import torch.optim._muon as torch_muon

    torchs = getattr(torch_muon, "_zeropower_via_newtonschulz", None)
    if torchs is None:
        pytest.skip("this torch keeps Muon's Newton-Schulz elsewhere")
    for shape in [(64, 192), (256, 64)]:
        grad = torch.randn(*shape, generator=torch.Generator().manual_seed(2))
        assert torch.equal(newton_schulz(grad, NS, 5, 1e-7, torch.bfloat16), torchs(grad, NS, 5, 1e-7))


def test_a_fp32_run_orthogonalises_in_fp32_and_a_bf16_run_as_torch_does():
    """Without bf16 arithmetic (an AVX2 CPU) torch's bf16 Newton-Schulz is ~20x slower
    than fp32: a run in fp32 steps Muon in fp32. Checked against an fp64 reference
    step: fp32 agrees to 1e-5, torch's bf16 only to its rounding (~1%)."""
    import torch

    def muon_step(bf16: bool) -> dict:
        model = _model()
        optimizer = make_optimizer(model, TrainConfig(optimizer="muon"), torch.device("cpu"), bf16)
        torch.manual_seed(1)
        for p in model.parameters():
            p.grad = torch.randn_like(p)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        optimizer.set_lr(1.0)
        optimizer.step()
        grads = {n: p.grad for n, p in model.named_parameters()}
        moved = {n: p.detach() - before[n] for n, p in model.named_parameters()}
        return {"optimizer": optimizer, "grads": grads, "before": before, "moved": moved}

    fp32, bf16 = muon_step(bf16=False), muon_step(bf16=True)
    assert type(bf16["optimizer"].parts["muon"]) is torch.optim.Muon
    assert type(fp32["optimizer"].parts["muon"]) is not torch.optim.Muon
    groups = fp32["optimizer"].parts["muon"].param_groups
    for name in [f"transformer.h.0.{m}" for m in BLOCK_MATRICES]:
        grad, before = fp32["grads"][name].double(), fp32["before"][name].double()
        group = next(g for g in groups if any(p.shape == grad.shape for p in g["params"]))
        # The first step: the momentum buffer is (1 - 0.95) g; Nesterov's update g.lerp(buf, 0.95).
        update = grad.lerp((1 - 0.95) * grad, 0.95)
        update = newton_schulz(update, NS, 5, 1e-7, torch.float64)
        rows, cols = grad.shape
        lr = group["lr"] * max(1.0, rows / cols) ** 0.5
        want = -before * group["lr"] * group["weight_decay"] - lr * update
        for run, bound in ((fp32, 1e-5), (bf16, 0.03)):
            error = (run["moved"][name].double() - want).norm() / want.norm()
            assert error < bound, (name, run is fp32, float(error))
        assert (bf16["moved"][name].double() - want).norm() / want.norm() > 1e-3


def test_a_muon_state_moves_between_bf16_and_fp32_hosts():
    """A checkpoint from an AMX host (torch's Muon) resumes on an AVX2 one (Fp32Muon),
    and back: the same state, momentum buffers included."""
    import torch

    states = []
    for bf16 in (True, False):
        model = _model()
        optimizer = make_optimizer(model, TrainConfig(optimizer="muon"), torch.device("cpu"), bf16)
        for p in model.parameters():
            p.grad = torch.ones_like(p)
        optimizer.step()
        states.append(optimizer)
    torch_state, ours = states[0].state_dict(), states[1]
    ours.load_state_dict(torch_state)
    buffers = [s["momentum_buffer"] for s in ours.parts["muon"].state.values()]
    assert buffers and all(torch.equal(b, torch.full_like(b, 0.05)) for b in buffers)
    states[0].load_state_dict(ours.state_dict())


def _args(tmp_path, *extra: str) -> list[str]:
    books, val = write_corpus(tmp_path)
    return tiny_args(books, val, tmp_path / "out", tmp_path / "cache", "--no-export", *extra)


def test_a_muon_run_learns_checkpoints_and_resumes(tmp_path):
    args = _args(tmp_path, "--optimizer", "muon", "--max-steps", "8", "--eval-every", "8")
    assert cli_main([*args, "--checkpoint-every-steps", "4"]) == 0
    args[args.index("--max-steps") + 1] = "12"
    assert cli_main([*args, "--resume"]) == 0
    rows = [r for r in read_metrics(tmp_path / "out" / "metrics.jsonl") if "loss" in r]
    assert [r["step"] for r in rows] == list(range(1, 13))
    assert rows[-1]["loss"] < rows[0]["loss"] - 3.0


def test_muon_fine_tunes_a_base_model(tiny_checkpoint, tmp_path):
    args = _args(tmp_path, "--optimizer", "muon", "--max-steps", "3", "--eval-every", "3")
    i = args.index("--init")
    args[i : i + 2] = ["--base", str(tiny_checkpoint)]
    assert cli_main(args) == 0
    assert (tmp_path / "out" / "model" / "model.safetensors").is_file()


@pytest.mark.parametrize("first, then", [("adamw", "muon"), ("muon", "adamw")])
def test_resuming_with_another_optimizer_is_refused_with_the_reason(tmp_path, capsys, first, then):
    args = _args(tmp_path, "--max-steps", "2", "--checkpoint-every-steps", "1", "--eval-every", "2")
    assert cli_main([*args, "--optimizer", first]) == 0
    capsys.readouterr()
    code = cli_main([*args, "--optimizer", then, "--resume", "--max-steps", "4"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == ExitCode.REFUSED
    assert f"trained with --optimizer {first}" in last
    assert f"cannot continue as --optimizer {then}" in last
    assert f"resume with --optimizer {first}" in last
