"""The suggestions of the bundled model stay what they were, byte for byte.

data/golden_suggestions.json was written by make_golden.py from the engine as
it was before its generation loop became a chain of steps; any change to the
engine that alters a suggestion, an alternative, a streamed piece or a stop
reason fails here. (Confidence and the n-grams' share are floats: compared
to 1e-5, so that summing in another order, or another CPU with the same
kernels, is not a failure: an AVX2 build on an AVX-512 machine reproduced an
AVX2 machine's set to 2.5e-6. Texts are exact.)

The results are those recorded for the CPU kernels llama.cpp computes with
here (golden_cases.py says why they differ): a machine whose kernels have no
recorded set skips, and says how to record one.
"""

from __future__ import annotations

import pytest

from gpt2gguf.constants import default_model_path
from tests.engine.golden_cases import GROUPS, kernels, load_golden, model_sha256, run_group

FLOATS = ("confidence", "cache_lambda")


def _same(got, want, where: str) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        assert got.keys() == want.keys(), where
        for key in want:
            if key in FLOATS and want[key] is not None:
                assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-12), (where, key)
            else:
                _same(got[key], want[key], f"{where}.{key}")
    else:
        assert got == want, where


@pytest.mark.parametrize("name,changes,actions", GROUPS, ids=[g[0] for g in GROUPS])
def test_the_bundled_model_suggests_exactly_what_it_did(name, changes, actions):
    model = default_model_path()
    if model is None:
        pytest.skip("no bundled model in resources/models")
    sets = load_golden()
    here = kernels()
    if here not in sets:
        pytest.skip(
            f"no golden suggestions for llama.cpp's kernels here ({here}); recorded for: "
            f"{'; '.join(sets) or 'none'}. Record them with python -m tests.engine.make_golden"
        )
    assert sets[here]["model"] == model_sha256(model), (
        "the golden suggestions were recorded from another model: if the bundled model "
        "changed on purpose, run python -m tests.engine.make_golden for each kernel set"
    )
    want = sets[here]["groups"][name]
    got = run_group(model, changes, actions)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        _same(g, w, f"{name}[{i}] {w['action'][:2]}")
