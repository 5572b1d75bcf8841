"""The shape of a suggestion: where it stops, its leading whitespace, degenerate output.

Pure text functions, no model: the engine calls `find_stop` after every
generated token and `finish` once at the end, so each rule can be tested on
plain strings.
"""

from __future__ import annotations

import re

# A sentence ends at . ! ? or … possibly followed by closing quotes/brackets,
# and only once whitespace follows: "3.5" and "..." mid-thought are not ends,
# and waiting one token for the space lets a closing quote join the sentence.
SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
SENTENCE_END_AT_EOF = re.compile(r"[.!?…]+[\"'”’)\]]*$")

# Abbreviations whose period does not end a sentence ("Mr. Hale rode on").
ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr prof mt vs etc e.g i.e no capt col gen lt sgt rev".split()
)

# Scene breaks: "***", "* * *" anywhere, "#" at the start of a line.
SCENE_STARS = re.compile(r"\*[ \t]*\*[ \t]*\*")
SCENE_HASH = re.compile(r"(?m)^[ \t]*#")
# Double quotes: curly ones say which way they face, straight ones alternate.
OPEN_QUOTE, CLOSE_QUOTE, STRAIGHT_QUOTE = "\u201c", "\u201d", '"'

WORD = re.compile(r"\S+")
PUNCTUATION = "\"'“”‘’.,;:!?()[]{}-—–…*_"

# Degenerate output: a phrase of up to this many words repeated back to back...
MAX_REPEAT_UNIT = 16
# ...or a run of this many words copied from the text just written.
COPY_NGRAM = 6
RECENT_CHARS = 1000  # how far back "just written" reaches
CHAR_RUN = re.compile(r"([^\w\s])\1{5,}")  # "!!!!!!", "------"
WORD_LOOP = re.compile(r"(\S{2,}?)\1{2,}")  # "ChicagoChicagoChicago": a word that loops


def _is_abbreviation(text: str, end_of_dots: int) -> bool:
    """True when the period ending at `end_of_dots` closes an abbreviation like "Mr."."""
    start = end_of_dots
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:end_of_dots].rstrip(".").lower()
    return text[end_of_dots - 1] == "." and word in ABBREVIATIONS


def sentence_ends(text: str, *, at_end: bool = False) -> list[int]:
    """Return the offsets just after each sentence end in `text`.

    An end needs whitespace after it, unless `at_end` (generation stopped: EOS or
    the token cap), when an end at the very end of the text counts too.
    """
    ends = []
    for m in SENTENCE_END.finditer(text):
        dots_end = m.start() + len(m.group().rstrip("\"'”’)]"))
        if not _is_abbreviation(text, dots_end):
            ends.append(m.end())
    if at_end:
        m = SENTENCE_END_AT_EOF.search(text)
        if m and m.start() > 0 and (not ends or ends[-1] < m.end()):
            dots_end = m.start() + len(m.group().rstrip("\"'”’)]"))
            if not _is_abbreviation(text, dots_end):
                ends.append(m.end())
    return ends


def find_stop(
    text: str,
    *,
    max_words: int,
    max_sentences: int,
    stop_at_paragraph: bool,
    at_end: bool = False,
    text_before: str = "",
) -> int | None:
    """Return where the suggestion `text` must be cut, or None to keep generating.

    The cut is the earliest of: a line break (paragraph, if `stop_at_paragraph`),
    a scene break ("***", "* * *", "#" opening a line), the closing quote of a
    line of dialogue (once something follows it), the end of the
    `max_sentences`-th sentence, the start of word `max_words`+1. `text_before`
    (the document before the suggestion) tells whether a quote is open and
    whether the suggestion starts a line.
    """
    cuts = []
    if stop_at_paragraph:
        newline = text.find("\n")
        if newline >= 0:
            cuts.append(newline)
    scene = scene_break(text, line_start=not text_before or text_before.endswith("\n"))
    if scene is not None:
        cuts.append(scene)
    closed = dialogue_end(text_before, text, at_end=at_end)
    if closed is not None:
        cuts.append(closed)
    if max_sentences > 0:
        ends = sentence_ends(text, at_end=at_end)
        if len(ends) >= max_sentences:
            cuts.append(ends[max_sentences - 1])
    if max_words > 0:
        starts = [m.start() for m in WORD.finditer(text)]
        if len(starts) > max_words:
            cuts.append(starts[max_words])
    return min(cuts) if cuts else None


def scene_break(text: str, *, line_start: bool) -> int | None:
    """Return where a scene break starts in `text` ("***", "* * *", or "#" opening a line), or None.

    `line_start`: the text begins a line (the document before it ends in a line break).
    """
    found = []
    stars = SCENE_STARS.search(text)
    if stars:
        found.append(stars.start())
    for m in SCENE_HASH.finditer(text):
        if m.start() > 0 or line_start:  # offset 0 starts a line only if the document's text did
            found.append(m.start())
            break
    return min(found) if found else None


def quote_open(text_before: str) -> bool:
    """True when the last paragraph of `text_before` leaves a line of dialogue open."""
    paragraph = text_before[text_before.rfind("\n") + 1 :]
    opened, closed = paragraph.rfind(OPEN_QUOTE), paragraph.rfind(CLOSE_QUOTE)
    return opened > closed or paragraph.count(STRAIGHT_QUOTE) % 2 == 1


def dialogue_end(text_before: str, text: str, *, at_end: bool = False) -> int | None:
    """Return the offset just after the quote in `text` that closes a line of dialogue, or None.

    The dialogue may have opened in `text_before` or in `text` itself. Like a
    sentence end, the closing quote counts once a character follows it (or
    generation ended, `at_end`), so a suggestion ends on a finished token.
    """
    inside = quote_open(text_before)
    for i, ch in enumerate(text):
        if ch == "\n":
            inside = False  # a new paragraph: an unclosed quote does not carry over
        elif ch == OPEN_QUOTE:
            inside = True
        elif ch == CLOSE_QUOTE or ch == STRAIGHT_QUOTE:
            if inside and (i + 1 < len(text) or at_end):
                return i + 1
            inside = ch == STRAIGHT_QUOTE and not inside
    return None


def fix_leading_whitespace(text_before: str, suggestion: str) -> str:
    """Return `suggestion` with only the leading whitespace the writer wants.

    After whitespace (or at the start of the document) it starts with no space:
    "dragon " + "flew". After a word it keeps at most one space: "dragon" + " flew".
    Line breaks are left alone (they end the suggestion as a paragraph break).
    """
    if not text_before or text_before[-1].isspace():
        return suggestion.lstrip(" \t")
    stripped = suggestion.lstrip(" \t")
    if len(stripped) < len(suggestion):
        return " " + stripped
    return suggestion


def _norm(word: str) -> str:
    return word.strip(PUNCTUATION).lower()


def trim_degenerate(text_before: str, suggestion: str) -> str:
    """Return `suggestion` cut before any degenerate part ("" if all of it is).

    Degenerate: a phrase repeated back to back ("and then and then", a word
    three times), a run of COPY_NGRAM words copied from the text just written,
    a run of one punctuation character ("!!!!!!"), or a word that loops
    ("ChicagoChicagoChicago"), cut with the word it is in.
    """
    run = CHAR_RUN.search(suggestion)
    if run:
        suggestion = suggestion[: run.start()]
    loop = WORD_LOOP.search(suggestion)
    if loop:  # cut before the word it loops in, so no half word is left
        start = loop.start()
        while start > 0 and not suggestion[start - 1].isspace():
            start -= 1
        suggestion = suggestion[:start]
    recent = text_before[-RECENT_CHARS:]
    joined = recent + suggestion
    offset = len(recent)
    spans = [(m.start(), m.end(), _norm(m.group())) for m in WORD.finditer(joined)]
    words = [w for _, _, w in spans]
    cut = len(suggestion)

    # Back-to-back repetition whose copy reaches into the suggestion.
    first_new = next((i for i, span in enumerate(spans) if span[1] > offset), len(spans))
    for i in range(max(1, first_new - MAX_REPEAT_UNIT), len(words)):
        for unit in range(1, min(MAX_REPEAT_UNIT, i) + 1):
            copies = 3 if unit == 1 else 2
            first = i - (copies - 1) * unit
            if first < 0 or i + unit > len(words) or spans[i + unit - 1][1] <= offset:
                continue
            pattern = words[i : i + unit]
            if not all(pattern):
                continue
            if all(
                words[first + k * unit : first + (k + 1) * unit] == pattern
                for k in range(copies - 1)
            ):
                cut = min(cut, max(spans[i][0], offset) - offset)

    # A run of COPY_NGRAM words that already appears in the text just written.
    seen = set()
    for i in range(len(words) - COPY_NGRAM + 1):
        gram = tuple(words[i : i + COPY_NGRAM])
        if spans[i + COPY_NGRAM - 1][1] <= offset:
            seen.add(gram)  # wholly written by the writer
        elif gram in seen and all(gram):
            cut = min(cut, max(spans[i][0], offset) - offset)
            break
    return suggestion[:cut]


def trim_partial_word(suggestion: str) -> str:
    """Return `suggestion` without its last word, which the token cap may have cut short.

    Keeps the text as is when that would leave nothing or when it ends in
    punctuation or whitespace (the word was complete).
    """
    if not suggestion or not suggestion[-1].isalnum():
        return suggestion
    cut = max(suggestion.rfind(" "), suggestion.rfind("\n"))
    if cut <= 0 or not suggestion[:cut].strip():
        return suggestion
    return suggestion[:cut]


def finish(text_before: str, suggestion: str, *, hit_token_cap: bool) -> str | None:
    """Return the final suggestion text, or None when nothing useful is left.

    Applies the partial-word trim (when generation hit the token cap), the
    degenerate-output filter and the trailing-whitespace strip; None when the
    result is empty or only whitespace.
    """
    if hit_token_cap:
        suggestion = trim_partial_word(suggestion)
    suggestion = trim_degenerate(text_before, suggestion).rstrip()
    if not suggestion.strip():
        return None
    return suggestion
