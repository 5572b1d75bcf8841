"""The softmax's exp pass: ggml's fused one where it can be trusted, numpy's otherwise."""

from __future__ import annotations

import llama_cpp
import numpy as np
import pytest

from gpt2gguf.constants import default_model_path
from gpt2gguf.llama import LlamaRunner, cpu_backend_function
from writer_app.engine import vecmath
from writer_app.engine.sampling import Softmax, softmax


def native_ggml_cpu() -> bool:
    """Whether this llama-cpp-python is a checked version whose CPU backend has the pass."""
    return (
        llama_cpp.__version__ in vecmath.CHECKED_VERSIONS
        and cpu_backend_function(vecmath.SYMBOL) is not None
    )


@pytest.fixture
def fresh_choice(monkeypatch):
    """Make the next exp_shifted call choose again, and put the choice back afterwards."""
    monkeypatch.setattr(vecmath, "_chosen", None)


@pytest.fixture(scope="module")
def logits():
    """A real next-token row of the bundled model, after a sentence of prose."""
    with LlamaRunner(default_model_path(), n_ctx=64, n_threads=1) as runner:
        runner.decode(runner.tokenize("The keeper climbed the stairs and counted them as he"))
        return np.array(runner.last_logits(), dtype=np.float32)


@pytest.mark.skipif(not native_ggml_cpu(), reason="not a checked llama-cpp-python with libggml-cpu")
def test_the_checked_llama_cpp_uses_ggml(fresh_choice):
    assert vecmath.backend() == "ggml"


@pytest.mark.skipif(not native_ggml_cpu(), reason="not a checked llama-cpp-python with libggml-cpu")
def test_ggml_gives_numpys_exp_and_sum_on_a_models_logits(logits):
    function = vecmath._ggml_function()
    assert function is not None
    ggml = vecmath._ggml_exp_shifted(function)
    top = float(logits.max())
    want, got = np.empty_like(logits), np.empty_like(logits)
    want_sum = vecmath.exp_shifted_numpy(logits, top, want)
    got_sum = ggml(logits, top, got)
    # A few units in the last place of float32, entry by entry and in the sum.
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=0)
    assert got_sum == pytest.approx(want_sum, rel=1e-6)
    assert got[int(np.argmax(logits))] == 1.0
    # A strided row (a view into a 2-D batch) is read as its values, not its memory.
    batch = np.stack([logits, logits - 5.0], axis=1)
    assert ggml(batch[:, 0], top, got) == pytest.approx(want_sum, rel=1e-6)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=0)


def test_numpy_is_used_when_asked(fresh_choice, monkeypatch):
    monkeypatch.setenv(vecmath.OFF_ENV, "1")
    assert vecmath.backend() == "numpy"


def test_an_unchecked_llama_cpp_version_uses_numpy(fresh_choice, monkeypatch):
    monkeypatch.delenv(vecmath.OFF_ENV, raising=False)
    monkeypatch.setattr(llama_cpp, "__version__", "0.3.99")
    assert vecmath._ggml_function() is None
    assert vecmath.backend() == "numpy"


def test_a_backend_without_the_function_uses_numpy(fresh_choice, monkeypatch):
    import gpt2gguf.llama

    monkeypatch.delenv(vecmath.OFF_ENV, raising=False)
    monkeypatch.setattr(llama_cpp, "__version__", sorted(vecmath.CHECKED_VERSIONS)[0])
    monkeypatch.setattr(gpt2gguf.llama, "cpu_backend_file", lambda: "")  # none found
    assert vecmath.backend() == "numpy"
    monkeypatch.setattr(gpt2gguf.llama, "cpu_backend_file", lambda: llama_cpp.__file__)
    monkeypatch.setattr(vecmath, "_chosen", None)
    assert vecmath.backend() == "numpy"  # a file that is no library


def test_a_pass_that_disagrees_with_numpy_is_not_used(fresh_choice, monkeypatch):
    monkeypatch.delenv(vecmath.OFF_ENV, raising=False)
    monkeypatch.setattr(vecmath, "_ggml_function", lambda: object())

    def off_by_a_little(function):
        def exp_shifted(x, top, out):
            total = vecmath.exp_shifted_numpy(x, top, out)
            out *= np.float32(1.0001)
            return total * 1.0001

        return exp_shifted

    monkeypatch.setattr(vecmath, "_ggml_exp_shifted", off_by_a_little)
    assert vecmath.backend() == "numpy"


@pytest.mark.parametrize("backend", ["numpy", "ggml"])
def test_every_softmax_gives_the_same_bits_with_either_pass(backend, logits, monkeypatch):
    """softmax(), Softmax and the engine's reused buffers share one exp pass: writer-bench
    and the engine agree to the bit, whichever pass is in use."""
    if backend == "ggml" and not native_ggml_cpu():
        pytest.skip("not a checked llama-cpp-python with libggml-cpu")
    if backend == "numpy":
        monkeypatch.setattr(vecmath, "_chosen", (vecmath.exp_shifted_numpy, "numpy"))
    else:
        monkeypatch.setattr(vecmath, "_chosen", None)
        assert vecmath.backend() == "ggml"
    probs, entropy = softmax(logits)
    model = Softmax(len(logits))(logits)
    assert model.entropy == entropy
    assert np.array_equal(model.probs_into(np.empty_like(logits)), probs)
    assert probs.dtype == np.float32
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-5)
