"""The engine's copy of the document follows the editor, so names typed earlier complete.

Real window, real engine process, the random-weight tiny model (which knows no
name): only the document cache can complete "Zyr" to "Zyrgalon".
"""

from __future__ import annotations

import pytest

WAIT_MS = 20_000
BODY = (
    "The dragon flew over the mountain. Zyrgalon watched it from the tower.\n\n"
    "Mira ran down the path. Zyrgalon followed her to the lake.\n\n"
    "At the shore she stopped. Zyrgalon stopped too.\n\n"
    "The dragon turned its great head and looked at "
)


def _ghost_after_typing(qtbot, window, body: str) -> str:
    """Paste body, type "Zyr", and return the ghost once the engine has answered ("" if none)."""
    answers = []
    window.suggestions.suggestion_handled.connect(lambda suggestion, shown: answers.append(shown))
    window.editor.setFocus()
    window.editor.insertPlainText(body)  # a paste: one edit of many paragraphs
    qtbot.keyClicks(window.editor, "Zyr")  # then typing, an edit per key
    qtbot.waitUntil(lambda: len(answers) > 0, timeout=WAIT_MS)
    return window.editor.ghost_text


@pytest.mark.parametrize(
    "body",
    [BODY, BODY.replace("the lake.", "the lake 🐉.")],
    ids=["plain", "with-emoji-offsets"],
)
def test_a_name_typed_earlier_completes_after_three_letters(
    qtbot, make_window, tiny_gguf_f32, body
):
    window = make_window(tiny_gguf_f32)
    assert _ghost_after_typing(qtbot, window, body).startswith("galon")


def test_without_the_document_cache_the_name_does_not_complete(qtbot, make_window, tiny_gguf_f32):
    window = make_window(tiny_gguf_f32, document_cache=False)
    assert not _ghost_after_typing(qtbot, window, BODY).startswith("galon")


def test_an_opened_file_is_known_to_the_engine(qtbot, make_window, tiny_gguf_f32, tmp_path):
    chapter = tmp_path / "chapter.txt"
    chapter.write_text(BODY)
    window = make_window(tiny_gguf_f32)
    window.files.load_path(chapter)
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    assert _ghost_after_typing(qtbot, window, "").startswith("galon")
