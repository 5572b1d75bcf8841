"""writer-bench: the KSR keystroke arithmetic on hand-made cases, and every command through main()."""

from __future__ import annotations

import json

import pytest

from tests.fixtures_text import TRAIN_TEXT
from writer_app import bench
from writer_app.bench.ksr import next_word_length, simulate_writer, stop_once_diverged
from writer_app.bench.latency import pause_points, percentiles, spread
from writer_app.bench.quality import windows


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


def test_acceptance_counts_on_a_hand_made_case():
    # Shown: "ab" (1 word), " cd xx" (2), "f" (1); taken: "ab", " cd", "f".
    count = simulate_writer(TEXT, table_suggest(TABLE), word_accept=True)
    assert (count.shown, count.words_shown, count.words_accepted) == (3, 4, 3)
    assert count.acceptance_rate == 1.0
    assert count.chars_accepted == len("ab") + len(" cd") + len("f")
    assert count.mean_accepted_chars == pytest.approx(6 / 3)
    none = simulate_writer(TEXT, table_suggest({2: " zz"}), word_accept=True)
    assert (none.shown, none.accepted, none.acceptance_rate) == (1, 0, 0.0)


def test_without_suggestions_every_character_is_a_keystroke_and_a_request():
    count = simulate_writer(TEXT, lambda before, upcoming: None, word_accept=True)
    assert (count.keystrokes, count.suggestions, count.ksr) == (8, 8, 0.0)


def test_a_perfect_suggestion_costs_one_keystroke():
    count = simulate_writer(TEXT, table_suggest({0: TEXT}), word_accept=False)
    assert (count.keystrokes, count.accepted) == (1, 1)
    assert count.ksr == pytest.approx(7 / 8)


def test_a_suggestion_taken_word_by_word_counts_as_one_acceptance():
    # "ab cd ef", at 0 "ab cd xx": Ctrl+Right takes "ab" and then " cd" (2 keys)
    # from the same suggestion; " xx" stays live while " " is typed, "e" kills
    # it (2 keys); at 7 "f" is taken with Tab (1 key). Two suggestions were
    # taken, not three: the second word comes from one already accepted.
    count = simulate_writer(TEXT, table_suggest({0: "ab cd xx", 7: "f"}), word_accept=True)
    assert (count.keystrokes, count.suggestions, count.shown) == (5, 2, 2)
    assert (count.accepted, count.words_accepted, count.chars_accepted) == (2, 3, 6)
    assert count.acceptance_rate == 1.0
    assert count.mean_accepted_chars == pytest.approx(6 / 2)


def test_ctrl_right_takes_the_next_word_only_when_the_text_has_it_whole():
    assert next_word_length(" cd xx", " cd ef") == 3
    assert next_word_length(" over", " overhead") == 0
    assert next_word_length(" over the", " over the hill") == 5
    assert next_word_length("gon flew", "gon") == 3  # the end of the text ends the word
    assert next_word_length(" xx cd", " cd") == 0
    assert next_word_length("  ", "  a") == 0  # no word, only spaces


def test_stop_once_diverged_waits_for_a_wrong_non_space_character():
    stop = stop_once_diverged("flew overhead")
    assert not stop("flew ov")
    assert not stop("flew over ")  # the space may be followed by anything yet
    assert stop("flew over t")
    assert stop("flew ox")


def test_pause_points_follow_each_word():
    assert pause_points("The dragon flew") == [4, 11, 15]


def test_spread_picks_evenly_from_the_first_item():
    items = list(range(10))
    assert spread(items, 3) == [0, 3, 6]
    assert spread(items, 4) == [0, 2, 5, 7]
    assert spread(items, None) == spread(items, 10) == spread(items, 99) == items
    assert spread(items, 0) == []


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


@pytest.mark.parametrize("content", ["", " \n\n\t "], ids=["empty", "whitespace"])
@pytest.mark.parametrize("command", ["latency", "ksr", "ppl", "quality"])
def test_every_command_refuses_a_text_with_nothing_to_type_the_same_way(
    trained_gguf, tmp_path, capsys, command, content
):
    path = tmp_path / "blank.txt"
    path.write_text(content, encoding="utf-8")
    argv = [command, "--model", str(trained_gguf), "--text", str(path), "--threads", "1", "--json"]
    assert bench.main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"writer-bench: {path} has nothing to type: it is empty or only whitespace\n"


def test_a_missing_text_is_named(trained_gguf, tmp_path, capsys):
    path = tmp_path / "nowhere.txt"
    assert bench.main(["ksr", "--model", str(trained_gguf), "--text", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"writer-bench: cannot read {path}: ")


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
    assert report["accepted"] >= 1 and report["suggestions"] >= report["shown"]
    assert report["shown"] >= report["accepted"]
    assert report["acceptance_rate"] == round(report["accepted"] / report["shown"], 4)
    assert report["words_shown"] >= report["words_accepted"] >= report["accepted"]
    assert report["mean_accepted_chars"] > 1
    assert report["command"].startswith("writer-bench ksr")


def test_latency_command_reports_percentiles_and_cache_reuse(
    trained_gguf, trained_checkpoint, story, capsys
):
    report = run_bench(
        capsys,
        "latency", "--model", str(trained_gguf), "--text", str(story), "--threads", "1", "--json",
        "--baseline", "transformers", "--checkpoint", str(trained_checkpoint), "--baseline-requests", "3",
    )  # fmt: skip
    # The model knows the text: while the suggestion shown agrees with what is typed
    # next, the app makes no request, so some pauses pass without one.
    assert 10 <= report["requests"] < len(pause_points(story.read_text(encoding="utf-8")))
    for key in ("first_token_ms", "suggestion_ms", "baseline_suggestion_ms"):
        assert report[key]["p50"] <= report[key]["p95"] <= report[key]["max"]
    assert 0 < report["prompt_tokens_evaluated_mean"] < 30  # the cache is reused between pauses
    assert report["rss_mb"] > 0 and report["backend"] == "CPU" and report["threads"] == 1
    assert report["baseline_requests"] == 3 and report["speedup"] > 0


def test_latency_through_the_engine_process_reports_the_boundary_and_both_processes(
    trained_gguf, story, capsys
):
    report = run_bench(
        capsys,
        "latency", "--model", str(trained_gguf), "--text", str(story), "--threads", "1", "--json",
        "--process", "both", "--max-requests", "8",
    )  # fmt: skip
    assert report["in_process"]["process"] == "in"
    assert report["engine_process"]["process"] == "child"
    # The same suggestions both ways, so the same requests (type-through skips some).
    assert 1 <= report["in_process"]["requests"] == report["engine_process"]["requests"] <= 8
    boundary = report["overhead_ms"]["boundary_per_request"]
    assert 0 <= boundary["p50"] <= boundary["p95"] <= boundary["max"]
    assert report["rss_mb"]["engine_process"] > 0 and report["rss_mb"]["app_engine_in_child"] > 0


def test_ppl_command_scores_the_text_with_and_without_the_cache(trained_gguf, tmp_path, capsys):
    # The story twice: the second time the cache knows every phrase from the first.
    path = tmp_path / "twice.txt"
    path.write_text(TRAIN_TEXT + "\n" + TRAIN_TEXT, encoding="utf-8")
    report = run_bench(
        capsys,
        "ppl", "--model", str(trained_gguf), "--text", str(path), "--threads", "1", "--json",
        "--window", "128", "--stride", "64",
    )  # fmt: skip
    assert report["tokens_scored"] == report["tokens"] - 1 > 300
    assert report["window"] == 128 and report["stride"] == 64
    assert 1 < report["ppl"] and 1 < report["ppl_model"]
    # The report's gain is of the unrounded perplexities; these are rounded to 3 decimals.
    assert report["cache_gain"] == pytest.approx(1 - report["ppl"] / report["ppl_model"], abs=2e-4)
    assert report["cache_ms_per_token"]["mean"] >= 0 and report["document_cache"] is True
    off = run_bench(
        capsys,
        "ppl", "--model", str(trained_gguf), "--text", str(path), "--threads", "1", "--json",
        "--window", "128", "--stride", "64", "--no-cache",
    )  # fmt: skip
    assert off["ppl"] == off["ppl_model"] == report["ppl_model"]


def test_ppl_windows_score_every_token_after_the_first_once():
    for n in (2, 100, 512, 513, 1300):
        scored = [
            i for start, end, first in windows(n, 512, 256) for i in range(start + first, end)
        ]
        assert scored == list(range(1, n))
        assert all(end - start <= 512 for start, end, _ in windows(n, 512, 256))


def test_quality_command_runs_the_four_settings_on_one_text(trained_gguf, story, capsys):
    report = run_bench(
        capsys,
        "quality", "--model", str(trained_gguf), "--text", str(story), "--threads", "1", "--json",
        "--fast", "--window", "128", "--stride", "64",
    )  # fmt: skip
    rows = {row["setting"]: row for row in report["rows"]}
    assert list(rows) == ["off", "gate only", "cache only", "both"]
    assert rows["off"]["confidence"] == 0.0 and not rows["off"]["document_cache"]
    assert rows["both"]["confidence"] > 0 and rows["both"]["document_cache"]
    for row in rows.values():
        assert 0 <= row["ksr_word"] < 1 and row["shown"] <= row["suggestions"]
    # The gate does not change the distribution; the cache does.
    assert rows["off"]["ppl"] == rows["gate only"]["ppl"] == report["ppl"]["ppl_model"]
    assert rows["both"]["ppl"] == rows["cache only"]["ppl"] == report["ppl"]["ppl"]
