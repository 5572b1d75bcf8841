"""The project memory and name completion (issue 23): the engine learns every chapter and
the notes, a name of the notes completes after two letters, and says where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt2gguf.constants import default_model_path
from writer_app.bench.project import name_report
from writer_app.core.project import project_names, scan_project
from writer_app.engine import Engine, EngineConfig
from writer_app.engine.names import NameIndex
from writer_app.engine.project_memory import ProjectMemory, name_rows, project_paths

NOTES = "# Characters\n\n## Mara Quenby\nThe smith's daughter.\n\n- **Tobin Ashe**: her friend\n"


@pytest.fixture(scope="module")
def engine():
    model = default_model_path()
    if model is None:
        pytest.skip("no bundled model in resources/models")
    with Engine(EngineConfig(model_path=model)) as e:
        yield e


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "novel"
    root.mkdir()
    (root / "Chapter 1.md").write_text("The harbour was grey at dawn.\n", encoding="utf-8")
    (root / "Chapter 2.md").write_text("Rain came over the hills.\n", encoding="utf-8")
    (root / "notes.md").write_text(NOTES, encoding="utf-8")
    return root


def learn(engine: Engine, root: Path, exclude: Path | None = None) -> None:
    """What the app (ProjectSync) and writer-bench --project send, then wait for the build."""
    index = scan_project(root)
    engine.set_project([str(p) for p in project_paths(index)], str(exclude) if exclude else None)
    engine.set_names(name_rows(project_names(index)))
    assert engine.wait_for_project(60)


def test_a_name_only_in_the_notes_completes_after_two_letters_in_a_new_chapter(engine, project):
    engine.set_document("")
    engine.set_project([])
    engine.set_names([])
    engine.wait_for_project(60)
    text = "The door opened and in came Ma"
    before = engine.suggest(text)
    assert before is None or not before.text.startswith("ra")

    learn(engine, project)
    engine.set_document(text)
    s = engine.suggest(text)
    assert s is not None and s.text == "ra Quenby"
    assert s.extra.stop == "name" and s.extra.names == ("Mara Quenby",)


def test_the_surname_follows_a_first_name_typed_in_full(engine, project):
    learn(engine, project)
    text = "The door opened and in came Mara"
    engine.set_document(text)
    s = engine.suggest(text)
    assert s is not None and s.text == " Quenby"


def test_the_project_memory_learns_the_chapters_but_not_the_open_one(engine, project):
    (project / "Chapter 1.md").write_text("Zyrgalon the ferryman waved.\n" * 5, encoding="utf-8")
    learn(engine, project)
    everything = engine.project_memory.counts.as_dict()
    learn(engine, project, exclude=project / "Chapter 1.md")
    without = engine.project_memory.counts.as_dict()
    # The open chapter's n-grams (the ferryman's name) are the document's alone.
    learnt_from_it = {gram for gram, n in everything.items() if n >= 5} - set(without)
    assert len(learnt_from_it) >= 5
    assert engine.project_memory.last_report.files == 2


def test_a_file_changed_on_disk_is_read_again_and_only_it(engine, project):
    learn(engine, project)
    (project / "Chapter 2.md").write_text("Rain, and more rain, came over the hills.\n")
    learn(engine, project)
    report = engine.project_memory.last_report
    assert report.read == 1 and report.files == 3


def test_a_request_during_a_build_answers_with_what_is_there(engine, project):
    learn(engine, project)
    index = scan_project(project)
    engine.set_project([str(p) for p in project_paths(index)])  # no wait
    s = engine.suggest("The door opened and in came Ma")  # never blocks on the build
    assert s is not None
    engine.wait_for_project(60)


def test_name_report_counts_the_known_names_completed_and_quotes_the_misses(engine, project):
    learn(engine, project)
    engine.set_names([["Mara Quenby", "Mara", "Quenby"], ["Marek Stone", "Marek", "Stone"]])
    engine.set_document("")
    # Mara comes first in the notes, then Marek is the one met most recently: both wrong.
    text = "The door opened and in came Marek Stone, and after him Mara."
    report = name_report(engine, text, {"Mara", "Marek", "Stone", "Quenby"})
    assert report["known_name_occurrences"] == 3
    assert report["completed_correctly"] == 1
    assert report["missed"] == [
        "The door opened and in came Ma|Marek -> 'ra Quenby'",
        " Marek Stone, and after him Ma|Mara -> 'rek Stone'",
    ]
    assert report["wrong"] == report["missed"] and report["wrong_completions"] == 2


def test_the_name_met_most_recently_comes_first():
    names = NameIndex([["Mara Quenby", "Mara", "Quenby"], ["Marek Stone", "Marek", "Stone"]])
    assert names.match("Marek left. Then Ma").word == "Marek"
    assert names.match("Marek left. Mara stayed. Then Ma").word == "Mara"
    assert names.match("It rained. Then Ma").text == "ra Quenby"  # not met yet: in full
    assert names.match("Mara Quenby stayed. Then Ma").text == "ra Quenby"  # last in full
    assert names.match("Mara Quenby stayed. Mara sang. Then Ma").text == "ra"  # said alone


def test_the_next_word_of_a_name_just_begun_comes_first():
    rows = [["Tars Tarkas", "Tars", "Tarkas"], ["Tal Hajus", "Tal", "Hajus"]]
    # The chapters' frequent names hold the name's words again, on their own.
    for names in (NameIndex(rows), NameIndex(rows, frequent=["Tarkas", "Tars"])):
        assert names.match("It was dark when Ta").text == "rs Tarkas"  # not met: in full
        assert names.match("He turned to Tars Ta").text == "rkas"
        # Written in full, a name is met where it starts: a new "Ta" is Tars again, in full.
        assert names.match("Tars Tarkas rode on; then Ta").text == "rs Tarkas"
        assert names.match("Tarkas rode on; then Ta").text == "rkas"  # said alone, met alone


def test_a_name_after_an_opening_quote_completes_but_not_after_a_glued_apostrophe():
    names = NameIndex([["Mara Quenby", "Mara", "Quenby"]])
    assert names.match("He called 'Ma").word == "Mara"
    assert names.match("He called ’Ma").word == "Mara"
    assert names.match("It was O'Ma") is None


def test_a_quotation_opened_mid_sentence_is_a_sentence_start():
    names = NameIndex([["Thomas Quenby"]])
    # There, "Th" is "There" or "The" as often as a name: the model's own guess stays.
    assert names.match('He said, "Th').sentence_start
    assert names.match("He said: “Th").sentence_start
    assert not names.match("and then Th").sentence_start


def test_at_a_sentence_start_a_name_waits_where_its_letters_mostly_start_other_words():
    starts = {"Still": 30, "Stop": 5, "Starkey": 10, "Steadily": 2, "Mara": 12, "May": 3}
    names = NameIndex([["Starkey"], ["Stella Vane"], ["Mara Quenby"]], sentence_starts=starts)
    # "St" starts Starkey's sentences 10 times in 47: a common word is likelier.
    assert names.match("He ran. St") is None
    assert names.match("He ran. Sta").word == "Starkey"  # 10 of 10 sentences with "Sta"
    assert names.match("He ran. Ste") is None  # Stella is in no sentence yet; Steadily is
    assert names.match("He ran. Stel").word == "Stella"  # no sentence starts so
    assert names.match("He ran. Ma").word == "Mara"  # 12 of 15
    # Mid-sentence the letters are a name's as before, and without counts nothing changes.
    assert names.match("and then St").word in ("Starkey", "Stella")
    assert NameIndex([["Starkey"]]).match("He ran. St").word == "Starkey"


def test_the_project_memory_counts_what_starts_its_sentences(tmp_path):
    chapter = tmp_path / "one.md"
    chapter.write_text("He ran. Still he ran. Starkey saw him. Still nothing, and Starkey sat.\n")
    memory = ProjectMemory(lambda text: [ord(c) % 50 for c in text], 64)
    memory.build([chapter])
    assert memory.sentence_starts == {"Still": 2, "Starkey": 1}


def test_a_notes_file_of_50000_names_matches_at_once():
    rows = [[f"Name{i:05d} Surname{i:05d}"] for i in range(50_000)]
    names = NameIndex(rows)
    assert names.match("and then Name4999").word.startswith("Name4999")
    assert names.match("nothing here") is None


def test_unreadable_and_missing_files_are_skipped_not_raised(tmp_path):
    good = tmp_path / "a.md"
    good.write_text("words here\n")
    binary = tmp_path / "b.md"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    memory = ProjectMemory(lambda text: [ord(c) % 50 for c in text], 64)
    report = memory.build([good, binary, tmp_path / "gone.md"])
    assert report.files == 1 and len(report.skipped) == 2
    assert memory.counts is not None and memory.counts.total == len("words here\n")


def test_the_models_own_completion_to_another_known_name_stays():
    """After "Ma", the index ranks Mars first (met last), but where the model read the
    sentence as "Martian", another known word, its suggestion is kept; a model that
    completes to a word no name holds still gives way to the name."""
    from types import SimpleNamespace

    from writer_app.engine.steps import NameCompletion

    step = NameCompletion(NameIndex([["Mars"], ["Martian"]]))
    text = "The Martian saw Mars rise. Then the Ma"

    def finish(model: str | None) -> str | None:
        draft = SimpleNamespace(prompt=SimpleNamespace(text_before=text), final=model)
        draft.reason, draft.confidence = "gate", 0.5
        step.end(draft)
        return draft.final

    assert NameIndex([["Mars"], ["Martian"]]).match(text).word == "Mars"
    assert finish("rtian warrior") == "rtian warrior"
    assert finish("rs") == "rs"  # the same name: the model's own words stay too
    assert finish("n who") == "rs"  # "Man" is no name: the name is offered
    assert finish(None) == "rs"  # the model silent: the name
