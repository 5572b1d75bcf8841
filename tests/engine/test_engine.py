"""The Engine on real GGUF files exported from the fixture checkpoints.

`trained_gguf` has memorised TRAIN_TEXT from position 0, so greedy
continuations of its sentences are known: "The dragon" -> " flew over the mountain.".
"""

from __future__ import annotations

import dataclasses
import struct

import numpy as np
import pytest

from tests.fixtures_text import TRAIN_TEXT
from writer_app.engine import (
    Engine,
    EngineConfig,
    GenerationCancelled,
    ModelFileError,
    ModelLoadError,
    Suggestion,
)
from writer_app.engine.healing import MAX_HEAL_TOKENS

# One thread: the test machine is shared, and llama.cpp's thread barriers
# crawl when its threads have to wait for a busy core.
BASE = {"n_threads": 1}


@pytest.fixture(scope="module")
def engine(trained_gguf):
    with Engine(EngineConfig(model_path=trained_gguf, **BASE)) as eng:
        yield eng


@pytest.fixture(scope="module")
def random_engine(tiny_gguf_f32):
    # A random model is never confident: without the gate it still suggests something.
    with Engine(EngineConfig(model_path=tiny_gguf_f32, confidence=0.0, **BASE)) as eng:
        yield eng


def fresh(engine: Engine, **changes) -> Engine:
    """A new engine on the same file (nothing cached), with config changes."""
    return Engine(dataclasses.replace(engine.config, **changes))


# ----- loading -------------------------------------------------------------------------
def test_a_missing_model_file_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        Engine(EngineConfig(model_path=tmp_path / "nope.gguf", **BASE))


def test_a_file_that_is_not_gguf_is_a_model_file_error(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("Chapter one. It was a dark and stormy night.\n" * 50)
    with pytest.raises(ModelFileError, match="not a GGUF"):
        Engine(EngineConfig(model_path=path, **BASE))


def test_a_truncated_model_is_a_model_file_error(trained_gguf, tmp_path):
    data = trained_gguf.read_bytes()
    path = tmp_path / "half.gguf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        Engine(EngineConfig(model_path=path, **BASE))


def test_a_model_that_is_not_gpt2_is_a_model_file_error(tmp_path):
    import gguf

    path = tmp_path / "llama.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelFileError, match=r"not a GPT-2 model \(architecture: llama\)"):
        Engine(EngineConfig(model_path=path, **BASE))


def test_a_file_llama_cpp_refuses_is_a_model_load_error(trained_gguf, tmp_path):
    # Valid GGUF and GPT-2 to the validator, but a pre-tokenizer llama.cpp does not know.
    key = b"tokenizer.ggml.pre" + struct.pack("<IQ", 8, 5)
    data = trained_gguf.read_bytes()
    assert data.count(key + b"gpt-2") == 1
    path = tmp_path / "odd.gguf"
    path.write_bytes(data.replace(key + b"gpt-2", key + b"gpt-9"))
    with pytest.raises(ModelLoadError, match="llama.cpp could not load it"):
        Engine(EngineConfig(model_path=path, **BASE))


def test_no_gpu_layers_means_the_cpu_backend(trained_gguf):
    with Engine(EngineConfig(model_path=trained_gguf, n_gpu_layers=0, **BASE)) as eng:
        assert eng.backend == "CPU"


def test_the_engine_reports_backend_model_and_threads(engine):
    import llama_cpp

    if not llama_cpp.llama_supports_gpu_offload():
        assert engine.backend == "CPU"
    assert engine.backend in {
        "CPU",
        "CUDA",
        "Metal",
        "Vulkan",
        "ROCm",
        "SYCL",
        "CANN",
        "MUSA",
        "OpenCL",
    }
    assert engine.model_name == "test model"
    assert engine.info.architecture == "gpt2"
    assert engine.n_threads == 1
    assert engine.n_ctx == 256  # the 512 setting is capped by the model's own context


# ----- suggestions -----------------------------------------------------------------------
def test_a_sentence_is_continued_to_its_end(engine):
    s = engine.suggest("The dragon")
    assert isinstance(s, Suggestion)
    assert s.text == " flew over the mountain."


def test_mid_word_the_suggestion_completes_the_word(engine):
    s = engine.suggest("The dra")
    assert s.text.startswith("gon")
    assert s.text == "gon flew over the mountain."
    assert s.extra.healed == " dra"


def test_after_a_space_the_suggestion_has_no_leading_space(engine):
    s = engine.suggest("The dragon ")
    assert s.text == "flew over the mountain."


def test_healing_works_deep_in_the_text(engine):
    before = TRAIN_TEXT[: TRAIN_TEXT.index("Her brother") + len("Her bro")]
    assert engine.suggest(before).text.startswith("ther shrugged.")


def test_max_words_cuts_the_suggestion(engine):
    with fresh(engine, max_words=3) as eng:
        assert eng.suggest("The dragon").text == " flew over the"


def test_suggestion_stops_at_a_paragraph_break(engine):
    before = TRAIN_TEXT[: TRAIN_TEXT.index("only the miller")]
    with fresh(engine, max_sentences=3, max_words=50) as eng:
        s = eng.suggest(before)
    assert s.text == "only the miller's dog was awake, and it barked twice."


def test_greedy_suggestions_are_deterministic(random_engine):
    text = "Once upon a time, in a land far"
    first = random_engine.suggest(text)
    with fresh(random_engine) as other:
        other.suggest("Something else entirely.")
        second = other.suggest(text)
    assert first is not None and second is not None
    assert first.text == second.text


def test_streamed_pieces_spell_the_suggestion(engine):
    pieces = []
    with fresh(engine) as eng:
        s = eng.suggest("The dragon", on_token=pieces.append)
    assert len(pieces) > 1
    assert "".join(pieces).startswith(s.text)


# ----- prompt window and KV cache ---------------------------------------------------------
def test_typing_three_more_characters_evaluates_only_a_few_tokens(engine):
    before = TRAIN_TEXT[: TRAIN_TEXT.index("Mira ran down the path")]
    with fresh(engine) as eng:
        first = eng.suggest(before)
        second = eng.suggest(before + "Mir")
    assert first.prompt_tokens_evaluated > 100
    assert 1 <= second.prompt_tokens_evaluated <= 3
    assert second.text.startswith("a ran down the path")


def test_a_long_text_uses_a_window_that_fits_the_context(engine):
    # Filler the story never had, then its first words: the model, reading only
    # the window's end, still knows how the sentence goes on. (The story itself
    # repeated would not do: its continuation would copy the text before, which
    # shaping drops.)
    text = " ".join(f"word{i}" for i in range(600)) + ". The dragon"
    with fresh(engine) as eng:
        prompt = eng.prompt_tokens(text)
        s = eng.suggest(text)
        assert len(prompt) + eng.config.max_tokens + MAX_HEAL_TOKENS < eng.n_ctx
    assert s.text == " flew over the mountain."
    assert s.extra.window_start > 0


def test_prefetched_suggestion_is_returned_without_evaluating(engine):
    text = "The dragon flew over the mountain. It circled the old"
    with fresh(engine) as eng:
        eng.prefetch(text)
        s = eng.suggest(text)
    with fresh(engine) as other:
        expected = other.suggest(text)
    assert s.prompt_tokens_evaluated == 0
    assert s.extra.cached is True
    assert s.text == expected.text


# ----- cancellation -----------------------------------------------------------------------
def cancel_after(n: int):
    """should_cancel that turns true on its n+1-th call."""
    calls = {"n": 0}

    def should_cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > n

    return should_cancel


def test_cancel_between_tokens_raises_and_the_next_request_works(engine):
    with fresh(engine) as eng:
        with pytest.raises(GenerationCancelled):
            eng.suggest("The dragon", should_cancel=cancel_after(3))
        s = eng.suggest("The dragon", should_cancel=lambda: False)
    assert s.text == " flew over the mountain."


def test_cancel_during_prompt_evaluation_aborts_llama_cpp(engine):
    before = TRAIN_TEXT[: TRAIN_TEXT.index("Mira ran down")]
    with fresh(engine) as eng:
        with pytest.raises(GenerationCancelled):
            # The first poll comes before evaluation; the second from llama.cpp's abort callback.
            eng.suggest(before, should_cancel=cancel_after(1))
        s = eng.suggest(before + "Mira ran")
    # Had the evaluation finished, the next request would reuse it and evaluate a few tokens.
    assert s.prompt_tokens_evaluated > 100
    assert s.text.startswith(" down the path")


def test_a_cancelled_prefetch_is_dropped_quietly(engine):
    with fresh(engine) as eng:
        eng.prefetch("The dragon", should_cancel=lambda: True)
        s = eng.suggest("The dragon")
    assert s.prompt_tokens_evaluated > 0


# ----- alternatives and settings ---------------------------------------------------------
def test_alternatives_are_distinct_seedable_and_start_with_the_greedy_one(random_engine):
    text = "The old woman opened the door and"
    alts = random_engine.alternatives(text, 3, seed=7)
    again = random_engine.alternatives(text, 3, seed=7)
    assert [a.text for a in alts] == [a.text for a in again]
    assert alts[0].text == random_engine.suggest(text).text
    assert len(alts) >= 2
    assert len({a.text.strip() for a in alts}) == len(alts)


def test_a_memorising_model_gives_fewer_alternatives_not_duplicates(engine):
    alts = engine.alternatives("The dragon", 3, seed=1)
    assert len({a.text for a in alts}) == len(alts) >= 1


def test_update_config_applies_shape_settings_without_reloading(engine):
    with fresh(engine) as eng:
        model = eng._live()
        assert eng.suggest("The dragon").text == " flew over the mountain."
        eng.update_config(dataclasses.replace(eng.config, max_words=2))
        assert eng._live() is model
        assert eng.suggest("The dragon").text == " flew over"


def test_update_config_reloads_for_a_new_context_size(engine):
    with fresh(engine) as eng:
        eng.update_config(dataclasses.replace(eng.config, n_ctx=128))
        assert eng.n_ctx == 128
        assert eng.suggest("The dragon").text == " flew over the mountain."


def test_an_empty_document_gets_a_suggestion_without_leading_space(random_engine):
    # Without the gate the random model always says something; at the document's
    # start it must not begin with a space.
    s = random_engine.suggest("")
    assert s is not None and s.text.strip()
    assert not s.text[0].isspace()
