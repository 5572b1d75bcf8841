"""The spell checker's files for the desktop bundle: enchant, its hunspell provider and
the en_US dictionary, taken from this machine (Debian: libenchant-2-2, hunspell-en-us).

Bundled editors have shipped with a dead spell checker (Manuskript#122,
novelWriter#2631): the bundle held pyenchant but took enchant, its providers
and the dictionaries from the host, which may have none. Debian's libenchant
(2.3.3) is not relocatable: it loads providers only from the folder compiled
into it (/usr/lib/x86_64-linux-gnu/enchant-2), whatever folder the library
itself is in, and enchant_set_prefix_dir changes nothing there. So the
bundle's copy has that string rewritten, in place and NUL-padded, to the
relative "enchant-2", which writer_app.core.spelling resolves by importing
enchant from inside the bundle's enchant folder. Dictionaries need no
rewrite: the hunspell provider looks in $XDG_DATA_DIRS/hunspell before the
host's /usr/share/hunspell, and the app puts the bundle's share/ first there.

Layout under _internal/ (names from writer_app.core.spelling):
    enchant/libenchant-2.so.2             the library, provider folder rewritten
    enchant/enchant-2/enchant_hunspell.so the provider (libhunspell goes beside the other libraries)
    enchant/share/hunspell/en_US.aff, .dic
"""

from __future__ import annotations

import os
from pathlib import Path

from writer_app.core.spelling import (
    BUNDLE_DATA,
    BUNDLE_ENCHANT,
    BUNDLE_LIBRARY,
    BUNDLE_PROVIDERS,
    XDG_DATA_DEFAULT,
    loaded_library,
)

LANGUAGES = ("en_US",)  # the dictionaries the bundle carries
PROVIDER = "hunspell"


class EnchantFilesError(Exception):
    """The machine building the bundle lacks a spelling file, or its enchant is not the
    kind this module knows how to relocate; str() says which and what to install."""


def host_enchant() -> tuple[Path, Path]:
    """Return the enchant library pyenchant loads here and enchant's hunspell provider.

    pyenchant's own lookup finds the library (PYENCHANT_LIBRARY_PATH, then
    ctypes.util.find_library); the file is read from what this process mapped.
    Raises EnchantFilesError when either is missing.
    """
    try:
        import enchant
    except (ImportError, OSError) as err:
        raise EnchantFilesError(
            f"pyenchant cannot load enchant ({err}); Debian: apt-get install libenchant-2-2"
        ) from None
    library = loaded_library("libenchant")
    providers = {p.name: p.file for p in enchant.Broker().describe()}
    if not library or PROVIDER not in providers:
        raise EnchantFilesError(
            f"enchant's {PROVIDER} provider is not installed (found: "
            f"{', '.join(providers) or 'none'}); Debian: apt-get install libenchant-2-2"
        )
    return Path(library), Path(providers[PROVIDER])


def dictionary_files(language: str) -> list[Path]:
    """Return `language`'s hunspell .aff and .dic, from the first of $XDG_DATA_DIRS/hunspell
    that has them (the provider's own order). Raises EnchantFilesError if none has."""
    data_dirs = (os.environ.get("XDG_DATA_DIRS") or XDG_DATA_DEFAULT).split(os.pathsep)
    for folder in data_dirs:
        files = [Path(folder) / "hunspell" / f"{language}{ext}" for ext in (".aff", ".dic")]
        if all(f.is_file() for f in files):
            return files
    raise EnchantFilesError(
        f"no {language} hunspell dictionary in {', '.join(data_dirs)}; "
        "Debian: apt-get install hunspell-en-us"
    )


def relocate_providers(library: Path, provider_dir: Path, dest: Path) -> Path:
    """Write a copy of `library` into `dest` (a folder) whose compiled-in provider folder
    `provider_dir` reads "enchant-2", relative to the working folder; return the copy.

    The string is replaced in place, NUL-padded, so no offset in the file moves.
    Raises EnchantFilesError unless the library holds the string exactly once.
    """
    data = library.read_bytes()
    old = b"\0" + os.fsencode(provider_dir) + b"\0"
    if data.count(old) != 1:
        raise EnchantFilesError(
            f"{library} does not name its provider folder {provider_dir} once "
            f"({data.count(old)} times): a relocatable or unknown enchant build"
        )
    new = b"\0" + BUNDLE_PROVIDERS.encode().ljust(len(old) - 2, b"\0") + b"\0"
    dest.mkdir(parents=True, exist_ok=True)
    copy = dest / BUNDLE_LIBRARY
    copy.write_bytes(data.replace(old, new))
    copy.chmod(0o755)
    return copy


def bundle_files(work: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return the (source, destination folder) binaries and datas of the spell checker,
    for PyInstaller's Analysis; the rewritten library is written into `work`.
    Raises EnchantFilesError when something is missing here."""
    library, provider = host_enchant()
    relocated = relocate_providers(library, provider.parent, work / BUNDLE_ENCHANT)
    binaries = [
        (str(relocated), BUNDLE_ENCHANT),
        (str(provider), f"{BUNDLE_ENCHANT}/{BUNDLE_PROVIDERS}"),
    ]
    datas = [
        (str(f), f"{BUNDLE_ENCHANT}/{BUNDLE_DATA}/hunspell")
        for language in LANGUAGES
        for f in dictionary_files(language)
    ]
    return binaries, datas
