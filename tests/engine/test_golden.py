"""The suggestions of the bundled model stay what they were, byte for byte.

data/golden_suggestions.json was written by make_golden.py from the engine as
it was before its generation loop became a chain of steps; any change to the
engine that alters a suggestion, an alternative, a streamed piece or a stop
reason fails here. (Confidence and the n-grams' share are floats: compared
to 1e-6, so that summing in another order is not a failure; texts are exact.)
"""

from __future__ import annotations

import pytest

from gpt2gguf.constants import default_model_path
from tests.engine.golden_cases import GROUPS, load_golden, run_group

FLOATS = ("confidence", "cache_lambda")


def _same(got, want, where: str) -> None:
    if isinstance(want, dict) and isinstance(got, dict):
        assert got.keys() == want.keys(), where
        for key in want:
            if key in FLOATS and want[key] is not None:
                assert got[key] == pytest.approx(want[key], rel=1e-6, abs=1e-12), (where, key)
            else:
                _same(got[key], want[key], f"{where}.{key}")
    else:
        assert got == want, where


@pytest.mark.parametrize("name,changes,actions", GROUPS, ids=[g[0] for g in GROUPS])
def test_the_bundled_model_suggests_exactly_what_it_did(name, changes, actions):
    model = default_model_path()
    if model is None:
        pytest.skip("no bundled model in resources/models")
    want = load_golden()[name]
    got = run_group(model, changes, actions)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        _same(g, w, f"{name}[{i}] {w['action'][:2]}")
