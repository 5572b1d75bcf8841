"""writer-bench: the KSR keystroke arithmetic on hand-made cases, and both commands end to end."""

from __future__ import annotations

import json

import pytest

from tests.fixtures_text import TRAIN_TEXT
from writer_app import bench
from writer_app.bench import (
    matching_words,
    pause_points,
    percentiles,
    simulate_writer,
    stop_once_diverged,
)


def table_suggest(table: dict[int, str]):
    """A fake suggestion function: the suggestion for each cursor position, else None."""
    return lambda before, upcoming: table.get(len(before))


# "ab cd ef": at 0 the suggestion "ab" is taken with Tab. At 2, " cd xx" is not
# the upcoming " cd ef": Tab-only types " cd e" (5 keys; " cd " agrees, "e"
# kills it), Ctrl+Right takes " cd" (1 key) then types " e" (2 keys). At 7, "f": Tab.
TEXT = "ab cd ef"
TABLE = {0: "ab", 2: " cd xx", 7: "f"}


def test_ksr_tab_only_on_a_hand_made_case():
    count = simulate_writer(TEXT, table_suggest(TABLE), word_accept=False)
    assert (count.keystrokes, count.suggestions, count.accepted) == (7, 3, 2)
    assert count.ksr == pytest.approx(1 - 7 / 8)


def test_ksr_with_word_accept_on_a_hand_made_case():
    count = simulate_writer(TEXT, table_suggest(TABLE), word_accept=True)
    assert (count.keystrokes, count.suggestions, count.accepted) == (5, 3, 3)
    assert count.ksr == pytest.approx(1 - 5 / 8)


def test_without_suggestions_every_character_is_a_keystroke_and_a_request():
    count = simulate_writer(TEXT, lambda before, upcoming: None, word_accept=True)
    assert (count.keystrokes, count.suggestions, count.ksr) == (8, 8, 0.0)


def test_a_perfect_suggestion_costs_one_keystroke():
    count = simulate_writer(TEXT, table_suggest({0: TEXT}), word_accept=False)
    assert (count.keystrokes, count.accepted) == (1, 1)
    assert count.ksr == pytest.approx(7 / 8)


def test_matching_words_needs_whole_words():
    assert matching_words(" cd xx", " cd ef") == (1, 3)
    assert matching_words(" over", " overhead") == (0, 0)
    assert matching_words(" over the", " over the hill") == (2, 9)
    assert matching_words("gon flew", "gon flew") == (2, 8)


def test_stop_once_diverged_waits_for_a_wrong_non_space_character():
    stop = stop_once_diverged("flew overhead")
    assert not stop("flew ov")
    assert not stop("flew over ")  # the space may be followed by anything yet
    assert stop("flew over t")
    assert stop("flew ox")


def test_pause_points_follow_each_word():
    assert pause_points("The dragon flew") == [4, 11, 15]


def test_percentiles_of_known_values():
    assert percentiles([float(v) for v in range(1, 101)]) == {
        "p50": 51.0,
        "p95": 95.0,
        "max": 100.0,
    }


@pytest.fixture
def story(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(TRAIN_TEXT[:400], encoding="utf-8")
    return path


def run_bench(capsys, *argv: str) -> dict:
    assert bench.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_ksr_command_reports_savings_for_a_model_that_knows_the_text(trained_gguf, story, capsys):
    report = run_bench(
        capsys,
        "ksr",
        "--model",
        str(trained_gguf),
        "--text",
        str(story),
        "--threads",
        "1",
        "--json",
    )
    assert report["chars"] == 400
    assert 0 < report["ksr_tab"] <= report["ksr_word"] < 1
    assert report["accepted"] >= 1 and report["suggestions"] >= report["accepted"]
    assert report["command"].startswith("writer-bench ksr")


def test_latency_command_reports_percentiles_and_cache_reuse(
    trained_gguf, trained_checkpoint, story, capsys
):
    report = run_bench(
        capsys,
        "latency", "--model", str(trained_gguf), "--text", str(story), "--threads", "1", "--json",
        "--baseline", "transformers", "--checkpoint", str(trained_checkpoint), "--baseline-requests", "3",
    )  # fmt: skip
    assert report["requests"] >= 10
    for key in ("first_token_ms", "suggestion_ms", "baseline_suggestion_ms"):
        assert report[key]["p50"] <= report[key]["p95"] <= report[key]["max"]
    assert 0 < report["prompt_tokens_evaluated_mean"] < 30  # the cache is reused between pauses
    assert report["rss_mb"] > 0 and report["backend"] == "CPU" and report["threads"] == 1
    assert report["baseline_requests"] == 3 and report["speedup"] > 0
