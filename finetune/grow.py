"""`--grow n_layer=N`: a deeper GPT-2 that starts out computing exactly what its base does.

Depth up-scaling by block expansion (as LLaMA Pro, Wu et al. 2024): the new
blocks are copies of the base block before them, spread evenly through the
stack, with the output projections of their attention and MLP (c_proj weights
and biases) set to zero. A GPT-2 block adds attn(ln_1(x)) and then
mlp(ln_2(x)) to the residual stream x; with both projections zero it adds
nothing, so the grown model's logits are the base's, to the last bit. Training
then moves the zero projections first (their gradients are not zero) and the
copied layers follow, starting from weights that already suit their place.
"""

from __future__ import annotations

import copy

from finetune.errors import RefusedError

# The parameters of a new block that start at zero: what it writes to the residual stream.
ZEROED = ("attn.c_proj.weight", "attn.c_proj.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")


def parse_grow(spec: str, base_layers: int) -> int:
    """The layer count `--grow n_layer=N` asks for.

    Raises RefusedError for another key (only depth grows: a wider model
    cannot compute what the base did), a malformed spec, or fewer layers than
    the base has.
    """
    key, sep, value = spec.partition("=")
    key = key.strip()
    if key in ("n_embd", "n_head", "n_ctx", "n_positions", "n_inner"):
        raise RefusedError(
            f"--grow {spec}: only the depth can grow (n_layer=N); a model of another "
            f"{key} would not compute what the base does, so it could not start from it"
        )
    try:
        if key != "n_layer" or not sep or "," in value:
            raise ValueError(spec)
        layers = int(value)
    except ValueError as exc:
        raise RefusedError(f"--grow {spec!r}: expected n_layer=N, e.g. n_layer=12") from exc
    if layers < base_layers:
        raise RefusedError(
            f"--grow n_layer={layers}: the base has {base_layers} layers, and growing only "
            "adds layers; give a larger n_layer, or leave out --grow"
        )
    return layers


def layer_plan(base_layers: int, layers: int) -> list[tuple[int, bool]]:
    """For each layer of the grown model: (the base layer it copies, whether it is new).

    The new layers are spread evenly: each comes after the base layer it copies.
    """
    added = layers - base_layers
    # New layer k goes after base layer ceil((k + 1) * base / added) - 1: even
    # intervals, the last one after the last base layer, and several after each
    # base layer when more are added than the base has.
    after = [-(-(k + 1) * base_layers // added) - 1 for k in range(added)]
    plan = []
    for i in range(base_layers):
        plan.append((i, False))
        plan.extend((i, True) for a in after if a == i)
    return plan


def grow_depth(model, spec: str):
    """A GPT2LMHeadModel of the depth `spec` (n_layer=N) that computes what `model` does.

    Returns `model` itself when it already has N layers. Raises RefusedError
    for a spec parse_grow refuses, or a model whose attention depends on the
    layer's position (scale_attn_by_inverse_layer_idx), which moving layers
    would change.
    """
    import torch
    from transformers import GPT2LMHeadModel

    base_layers = model.config.n_layer
    layers = parse_grow(spec, base_layers)
    if layers == base_layers:
        return model
    if getattr(model.config, "scale_attn_by_inverse_layer_idx", False):
        raise RefusedError(
            "--grow: this model scales attention by the layer's position "
            "(scale_attn_by_inverse_layer_idx), so moving its layers would change it"
        )
    config = copy.deepcopy(model.config)
    config.n_layer = layers
    grown = GPT2LMHeadModel(config).to(dtype=model.dtype)
    base_state = model.state_dict()
    state = {k: v for k, v in base_state.items() if not k.startswith("transformer.h.")}
    for i, (source, new) in enumerate(layer_plan(base_layers, layers)):
        prefix = f"transformer.h.{source}."
        for key, value in base_state.items():
            if key.startswith(prefix):
                rest = key[len(prefix) :]
                value = torch.zeros_like(value) if new and rest in ZEROED else value.clone()
                state[f"transformer.h.{i}.{rest}"] = value
    grown.load_state_dict(state)
    grown.tie_weights()
    return grown
