"""writer-bench refuses a bad option in one line, with the reason, before loading anything."""

from __future__ import annotations

import pytest

from writer_app.bench.cli import main


@pytest.mark.parametrize(
    "argv, words",
    [
        (["ksr", "--threads", "-3"], "--threads: must be at least 1, not -3"),
        (["ksr", "--threads", "0"], "--threads: must be at least 1, not 0"),
        (["ksr", "--n-ctx", "0"], "--n-ctx: must be at least 16, not 0"),
        (["latency", "--confidence", "nan"], "--confidence: must be a finite number, not nan"),
        (["ksr", "--confidence", "1.5"], "--confidence: must be at most 1, not 1.5"),
        (["ppl", "--window", "1"], "--window: must be at least 2, not 1"),
        (["ksr", "--gpu-layers", "-2"], "--gpu-layers: must be at least -1, not -2"),
        (["ksr", "--threads", "many"], "--threads: invalid int value: 'many'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_bad_option_is_one_line_with_the_reason(argv, words, capsys):
    command, *options = argv
    assert main([command, "--model", "m.gguf", "--text", "t.txt", *options]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # no usage block before it
    assert lines[0].startswith("writer-bench: ") and words in lines[0]


def test_a_missing_model_is_one_line(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("Once upon a time.")
    assert main(["ksr", "--model", str(tmp_path / "none.gguf"), "--text", str(text)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("writer-bench: ")
