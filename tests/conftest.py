"""Session fixtures: tiny GPT-2 checkpoints built here, and GGUF files exported from them.

Nothing is downloaded. `tiny_checkpoint` is random; `trained_checkpoint` has
memorised TRAIN_TEXT (so top-1 predictions mean something); the GGUFs are
exported once per session with the real export path.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any test imports Qt
# OpenMP threads (torch's and llama.cpp's) wait passively instead of spinning:
# on a busy 2-core CI machine spinning threads starve each other. Read once, at
# the first parallel region, so it is set before torch or llama_cpp loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.fixtures_text import TRAIN_TEXT  # noqa: E402

__all__ = [
    "TRAIN_TEXT",
    "one_torch_thread",
    "save_checkpoint",
    "tiny_gpt2_config",
    "train_to_memorise",
]

TINY_SHAPE = {"n_layer": 2, "n_embd": 64, "n_head": 2, "n_positions": 256}
SLOW_SHAPE = {"n_layer": 6, "n_embd": 512, "n_head": 8, "n_positions": 512}


def tiny_gpt2_config(**overrides):
    """Return a GPT2Config of the tiny test shape (vocab 50257), with overrides applied."""
    from transformers import GPT2Config

    return GPT2Config(**{"vocab_size": 50257, **TINY_SHAPE, **overrides})


def save_checkpoint(model, folder: Path) -> Path:
    """Save a GPT2LMHeadModel with safetensors into folder; return folder."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder), safe_serialization=True)
    return folder


@contextmanager
def one_torch_thread():
    """Run torch single-threaded inside the block.

    The models here are tiny, and on a busy 2-core machine two spinning
    torch threads run ~50x slower than one.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A random-weight GPT-2 (2 layers, 64 wide, 256 context), saved with safetensors."""
    import torch
    from transformers import GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(tiny_gpt2_config())
    return save_checkpoint(model, tmp_path_factory.mktemp("tiny_checkpoint"))


def train_to_memorise(
    model, ids, *, steps: int = 400, lr: float = 1e-2, stop_loss: float = 0.02
) -> float:
    """Train model on one token sequence until it has memorised it; return the last loss.

    Speed trick, exact rather than approximate: the embedding rows of tokens
    absent from `ids` are zeroed, so their logits are exactly 0 and the full
    50257-way softmax equals a softmax over the seen tokens plus one lumped
    column of logit log(n_unseen). Those rows get no gradient, so they stay
    zero and the saved model's real loss is the loss printed here. This makes
    a step ~100x cheaper than computing all 50257 logits.
    """
    import math

    import torch
    import torch.nn.functional as F

    wte = model.transformer.wte.weight
    seen = torch.unique(ids)
    with torch.no_grad():
        keep = torch.zeros(wte.shape[0], dtype=torch.bool)
        keep[seen] = True
        wte[~keep] = 0.0
    lump = math.log(wte.shape[0] - len(seen))
    remap = torch.full((wte.shape[0],), -1, dtype=torch.long)
    remap[seen] = torch.arange(len(seen))
    targets = remap[ids[0, 1:]]

    optim = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, fused=True)
    model.train()
    loss_value = float("inf")
    for _step in range(steps):
        hidden = model.transformer(ids).last_hidden_state[0, :-1]
        logits = hidden @ wte[seen].T
        logits = torch.cat([logits, torch.full((logits.shape[0], 1), lump)], dim=1)
        loss = F.cross_entropy(logits, targets)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        loss_value = loss.item()
        if loss_value < stop_loss:
            break
    model.eval()
    return loss_value


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory) -> Path:
    """The tiny shape trained on TRAIN_TEXT until it has memorised it (deterministic)."""
    import torch
    from transformers import GPT2LMHeadModel

    from finetune.tokenizer import load_tokenizer

    torch.manual_seed(0)
    model = GPT2LMHeadModel(tiny_gpt2_config(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    ids = torch.tensor([load_tokenizer().encode(TRAIN_TEXT).ids])
    assert ids.shape[1] <= TINY_SHAPE["n_positions"]
    with one_torch_thread():
        loss = train_to_memorise(model, ids)
    assert loss < 0.1, f"the fixture model did not memorise TRAIN_TEXT (loss {loss:.3f})"
    return save_checkpoint(model, tmp_path_factory.mktemp("trained_checkpoint"))


def _export(checkpoint: Path, folder: Path, quant: str) -> Path:
    from finetune.export import export_gguf

    out = folder / f"model-{quant}.gguf"
    export_gguf(
        checkpoint,
        out,
        quant,
        verify=False,
        name="test model",
        description="exported by the test fixtures",
    )
    return out


@pytest.fixture(scope="session")
def trained_gguf(trained_checkpoint, tmp_path_factory) -> Path:
    """trained_checkpoint exported to q8_0 (the app's default quant)."""
    return _export(trained_checkpoint, tmp_path_factory.mktemp("trained_gguf"), "q8_0")


@pytest.fixture(scope="session")
def trained_gguf_f32(trained_checkpoint, tmp_path_factory) -> Path:
    """trained_checkpoint exported to f32."""
    return _export(trained_checkpoint, tmp_path_factory.mktemp("trained_gguf_f32"), "f32")


@pytest.fixture(scope="session")
def tiny_gguf_f32(tiny_checkpoint, tmp_path_factory) -> Path:
    """tiny_checkpoint (random weights) exported to f32."""
    return _export(tiny_checkpoint, tmp_path_factory.mktemp("tiny_gguf_f32"), "f32")


@pytest.fixture(scope="session")
def slow_gguf(tmp_path_factory) -> Path:
    """A random GPT-2 big enough that a suggestion takes real time (~100 ms+), as q8_0."""
    import torch
    from transformers import GPT2LMHeadModel

    torch.manual_seed(1)
    model = GPT2LMHeadModel(tiny_gpt2_config(**SLOW_SHAPE))
    folder = save_checkpoint(model, tmp_path_factory.mktemp("slow_checkpoint"))
    return _export(folder, tmp_path_factory.mktemp("slow_gguf"), "q8_0")


def needs_en_us_dictionary() -> None:
    """Skip a spelling test on a machine without enchant's en_US dictionary, saying what to
    install; in CI (.ci/run installs libenchant-2-2 and hunspell-en-us) fail instead, so a
    broken install step can't hide behind a skip."""
    import os

    from writer_app.core.spelling import SpellChecker

    problem = SpellChecker("en_US", Path(os.devnull)).problem
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"spelling tests need en_US in CI: {problem}")
    pytest.skip(problem)
