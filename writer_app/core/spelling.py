"""Spell checking, as novelWriter does it: one checker object over enchant's dictionaries.

The checker knows three word lists besides the language's dictionary: the
writer's personal list ("Add to Dictionary", a file in the app's data
folder), and the project's words (names and their parts from the story
notes), which are never flagged, since most of a novelist's personal
dictionary is names. Answers are memoised per word, so checking the
visible text again after a keystroke costs dictionary lookups only for new
words. Qt-free; the editor's underlines live in ui/editor/spelling.py.

Without the enchant library or the language's dictionary, `available` is
False and `problem` says what to install; nothing is ever flagged then.

The desktop bundle carries its own enchant, hunspell provider and en_US
dictionary (packaging/enchant_files.py), since bundled editors have shipped
with a dead spell checker (Manuskript#122, novelWriter#2631). Debian's
libenchant loads providers only from the folder compiled into it, so the
bundle's copy has that path rewritten to the relative "enchant-2", and
enchant is first imported (its broker made, the providers loaded) from
inside the bundle's enchant folder; see _import_enchant.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from gpt2gguf.files import atomic_write
from writer_app.core.paths import data_dir

DEFAULT_LANGUAGE = "en_US"
PERSONAL_FILE = "dictionary.txt"
# A word: letters, with inner apostrophes ("don't", "Mara’s"); digits and
# underscores end it, so "3rd" or "file_name" are never checked.
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
MEMO_LIMIT = 200_000  # words remembered before the memo starts again
MAX_ACRONYM = 6  # all-capital words up to this long (NASA, HMS) are taken as they are
# The bundle's enchant, under sys._MEIPASS: the library, its providers' folder (the
# relative path written into the library) and the data folder holding hunspell/.
BUNDLE_ENCHANT = "enchant"
BUNDLE_LIBRARY = "libenchant-2.so.2"
BUNDLE_PROVIDERS = "enchant-2"
BUNDLE_DATA = "share"
XDG_DATA_DEFAULT = "/usr/local/share:/usr/share"  # what an unset XDG_DATA_DIRS means
SELF_CHECK_WORDS = ("necessary", "neccessary")  # spelled right, misspelled


class SpellChecker:
    """Checks words against a language's dictionary, the writer's words and the project's."""

    def __init__(self, language: str = DEFAULT_LANGUAGE, personal_path: Path | None = None):
        self.language = language
        self.personal_path = personal_path or data_dir() / PERSONAL_FILE
        self.problem: str | None = None
        self._dict = None
        try:
            enchant = _import_enchant()
            try:
                self._dict = enchant.Dict(language)
            except enchant.errors.DictNotFoundError:
                known = ", ".join(sorted(enchant.list_languages())) or "none"
                self.problem = (
                    f"No {language} spelling dictionary is installed (installed: {known}). "
                    "On Debian or Ubuntu: sudo apt install hunspell-en-us (or your language's)."
                )
        except ImportError:
            self.problem = "Spell checking needs pyenchant: pip install pyenchant."
        except OSError as err:  # pyenchant is there, the enchant C library is not
            self.problem = f"Spell checking needs the enchant library ({err})."
        self.personal = _read_words(self.personal_path)
        self.project_words: frozenset[str] = frozenset()
        self._memo: dict[str, bool] = {}

    @property
    def available(self) -> bool:
        """Whether a dictionary is loaded (otherwise nothing is ever flagged)."""
        return self._dict is not None

    def set_project_words(self, words: Iterable[str]) -> None:
        """Never flag `words` (the project's names and their parts, words from the notes)."""
        self.project_words = frozenset(w.casefold() for w in words)
        self._memo.clear()

    def check(self, word: str) -> bool:
        """Return whether `word` is spelled right (or can't be judged)."""
        known = self._memo.get(word)
        if known is not None:
            return known
        known = self._check(word)
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[word] = known
        return known

    def _check(self, word: str) -> bool:
        if self._dict is None or len(word) < 2:
            return True
        if word.isupper() and len(word) <= MAX_ACRONYM:
            return True
        plain = word.replace("’", "'")
        base = plain[:-2] if plain.endswith("'s") else plain  # Mara's: Mara
        for w in (plain, base):
            folded = w.casefold()
            if folded in self.project_words or folded in self.personal:
                return True
        return self._dict.check(plain) or (base != plain and self._dict.check(base))

    def misspelled(self, text: str) -> list[tuple[int, int]]:
        """Return the (start, end) of each misspelled word in `text` (str indices)."""
        if self._dict is None:
            return []
        return [m.span() for m in WORD.finditer(text) if not self.check(m.group())]

    def suggest(self, word: str, limit: int = 5) -> list[str]:
        """Return up to `limit` spellings the dictionary suggests for `word`."""
        if self._dict is None:
            return []
        fixes = self._dict.suggest(word.replace("’", "'"))
        # The writer's own capitalisation first: "brwon" wants "brown" before "Brown".
        fixes.sort(key=lambda f: f[:1].isupper() != word[:1].isupper())
        return fixes[:limit]

    def add_to_dictionary(self, word: str) -> None:
        """Add `word` to the writer's personal list (kept in the data folder, private).

        Raises OSError when the list can't be saved; the word is still known
        for this run.
        """
        self.personal.add(word.casefold())
        self._memo.pop(word, None)
        folder = self.personal_path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = "".join(f"{w}\n" for w in sorted(self.personal))
        atomic_write(self.personal_path, text.encode("utf-8"), mode=0o600)


def languages() -> list[str]:
    """Return the dictionaries enchant has on this machine (empty without enchant)."""
    try:
        return sorted(_import_enchant().list_languages())
    except (ImportError, OSError):
        return []


def bundled_enchant() -> Path | None:
    """Return the desktop bundle's enchant folder, or None outside a bundle (or without one)."""
    root = getattr(sys, "_MEIPASS", None)
    folder = Path(root) / BUNDLE_ENCHANT if getattr(sys, "frozen", False) and root else None
    return folder if folder is not None and (folder / BUNDLE_LIBRARY).is_file() else None


def _import_enchant():
    """Import pyenchant; in the desktop bundle, with the bundle's own enchant.

    There: pyenchant is pointed at the bundle's library (PYENCHANT_LIBRARY_PATH),
    the bundle's data folder goes first in XDG_DATA_DIRS, where enchant's hunspell
    provider looks for <dir>/hunspell/en_US.dic before the host's /usr/share/hunspell,
    and the import, which makes enchant's broker and loads its providers from
    the relative folder "enchant-2", runs with the bundle's enchant folder as the
    working folder (then the writer's again). Raises ImportError or OSError as
    `import enchant` does.
    """
    if "enchant" in sys.modules:
        return sys.modules["enchant"]
    folder = bundled_enchant()
    if folder is None:
        import enchant

        return enchant
    os.environ["PYENCHANT_LIBRARY_PATH"] = str(folder / BUNDLE_LIBRARY)
    data = os.environ.get("XDG_DATA_DIRS") or XDG_DATA_DEFAULT
    os.environ["XDG_DATA_DIRS"] = os.pathsep.join([str(folder / BUNDLE_DATA), data])
    here = os.open(".", os.O_RDONLY)  # by descriptor: the writer's folder may be gone
    try:
        os.chdir(folder)
        import enchant
    finally:
        os.fchdir(here)
        os.close(here)
    return enchant


def loaded_library(fragment: str) -> str:
    """Return the path of the first file mapped into this process whose name holds
    `fragment` (Linux: which copy of a library the dynamic linker really loaded), or ""."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                path = line.split(maxsplit=5)[-1].strip()
                if fragment in Path(path).name:
                    return path
    except OSError:
        pass
    return ""


def self_check(language: str = DEFAULT_LANGUAGE) -> tuple[bool, dict[str, str]]:
    """Check one right and one misspelled word with a checker of `language` and no
    personal words; return whether both were judged right, and a report: spelling
    (the language, "bundled" when the enchant library and the provider that answered
    are the bundle's, else "system"), library (the enchant library loaded), provider
    (the enchant module that answered), hunspell (the libhunspell loaded, if any) and
    check (what was said)."""
    checker = SpellChecker(language, personal_path=Path(os.devnull))
    if not checker.available:
        return False, {"spelling": f"off ({checker.problem})"}
    right, wrong = SELF_CHECK_WORDS
    flagged = [w for w in SELF_CHECK_WORDS if not checker.check(w)]
    provider = checker._dict.provider
    folder = bundled_enchant()
    # The bundle's providers load from a relative folder: enchant names them so.
    provider_file = Path(folder or "", provider.file)
    library = loaded_library("libenchant")
    inside = folder is not None and all(
        Path(p).resolve().is_relative_to(folder.resolve()) for p in (library, provider_file)
    )
    report = {
        "spelling": f"{language} ({'bundled' if inside else 'system'})",
        "library": library or "unknown",
        "provider": f"{provider.name} {provider_file}",
        "hunspell": loaded_library("libhunspell") or "not loaded",
        "check": f"{right!r} {'flagged' if right in flagged else 'right'}, "
        f"{wrong!r} {'flagged' if wrong in flagged else 'right'} "
        f"(suggested: {', '.join(checker.suggest(wrong, 3)) or 'nothing'})",
    }
    return flagged == [wrong], report


def _read_words(path: Path) -> set[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return set()
    except OSError:
        return set()
    return {line.strip().casefold() for line in text.splitlines() if line.strip()}


__all__ = [
    "SpellChecker",
    "languages",
    "self_check",
    "bundled_enchant",
    "loaded_library",
    "WORD",
    "DEFAULT_LANGUAGE",
]
