"""The bundle's spell checker without building the bundle: packaging/enchant_files.py
makes the bundle's enchant folder from this machine's files, and writer_app.core.spelling,
run as a frozen app would run (sys.frozen, sys._MEIPASS), uses that folder and not the
host's enchant, provider or dictionary."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import needs_en_us_dictionary
from writer_app.core.spelling import (
    BUNDLE_DATA,
    BUNDLE_ENCHANT,
    BUNDLE_LIBRARY,
    BUNDLE_PROVIDERS,
)

ROOT = Path(__file__).resolve().parents[2]
MADE_UP = "Zorbleflax"  # a word no real dictionary has: only the test's copy knows it


def load_enchant_files():
    spec = importlib.util.spec_from_file_location(
        "enchant_files", ROOT / "packaging" / "enchant_files.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def enchant_files():
    needs_en_us_dictionary()
    return load_enchant_files()


@pytest.fixture
def bundle_like(enchant_files, tmp_path) -> Path:
    """A folder laid out as the bundle's _internal/ holds enchant, made by bundle_files;
    its en_US.dic knows one more word than the host's."""
    binaries, datas = enchant_files.bundle_files(tmp_path / "work")
    internal = tmp_path / "_internal"
    for source, dest in binaries + datas:
        (internal / dest).mkdir(parents=True, exist_ok=True)
        (internal / dest / Path(source).name).write_bytes(Path(source).read_bytes())
    dic = internal / BUNDLE_ENCHANT / BUNDLE_DATA / "hunspell" / "en_US.dic"
    dic.write_text(dic.read_text(encoding="utf-8") + f"{MADE_UP}\n", encoding="utf-8")
    return internal


def run_frozen(internal: Path, tmp_path: Path) -> dict:
    """Run core.spelling's self_check in a fresh process that thinks it is the bundle,
    with the host's data folders out of reach (XDG_DATA_DIRS an empty folder)."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    code = (
        "import json, sys; sys.frozen = True; sys._MEIPASS = sys.argv[1]; "
        "from writer_app.core.spelling import SpellChecker, self_check; "
        "passed, report = self_check(); "
        f"report['made_up'] = SpellChecker('en_US', None).check({MADE_UP!r}); "
        "report['passed'] = passed; print(json.dumps(report))"
    )
    env = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "XDG_DATA_DIRS": str(empty)}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(internal)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_frozen_app_spells_with_the_bundled_enchant_provider_and_dictionary(
    bundle_like, tmp_path
):
    cwd = os.getcwd()
    report = run_frozen(bundle_like, tmp_path)
    assert report["passed"], report
    assert report["spelling"] == "en_US (bundled)", report
    enchant = bundle_like / BUNDLE_ENCHANT
    assert report["library"] == str(enchant / BUNDLE_LIBRARY)
    assert report["provider"] == f"hunspell {enchant / BUNDLE_PROVIDERS / 'enchant_hunspell.so'}"
    assert report["made_up"]  # the answer came from the bundle's dictionary
    assert os.getcwd() == cwd


def test_without_the_relocated_library_the_host_provider_answers(
    enchant_files, bundle_like, tmp_path
):
    # The same folder with the host's library as it is: its provider folder is the
    # compiled-in one, so the rewrite is what makes the bundle's provider load.
    library, _ = enchant_files.host_enchant()
    (bundle_like / BUNDLE_ENCHANT / BUNDLE_LIBRARY).write_bytes(library.read_bytes())
    report = run_frozen(bundle_like, tmp_path)
    assert report["spelling"] == "en_US (system)", report
    assert str(bundle_like) not in report["provider"]


def test_the_relocated_library_names_the_relative_provider_folder_in_place(enchant_files, tmp_path):
    library, provider = enchant_files.host_enchant()
    copy = enchant_files.relocate_providers(library, provider.parent, tmp_path)
    original, data = library.read_bytes(), copy.read_bytes()
    assert len(data) == len(original)
    assert os.fsencode(provider.parent) + b"\0" not in data
    assert b"\0" + BUNDLE_PROVIDERS.encode() + b"\0" in data
    with pytest.raises(enchant_files.EnchantFilesError, match="provider folder"):
        enchant_files.relocate_providers(copy, provider.parent, tmp_path / "again")


def test_a_missing_dictionary_stops_the_build_saying_what_to_install(enchant_files):
    with pytest.raises(enchant_files.EnchantFilesError, match="apt-get install"):
        enchant_files.dictionary_files("xx_NOPE")
