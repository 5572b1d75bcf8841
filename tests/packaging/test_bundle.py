"""The one-folder bundle, started as a writer's desktop would start it: a clean
environment, a fresh HOME, no virtualenv, under Xvfb (see conftest.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import psutil
import pytest

from tests.packaging.conftest import REUSE_ENV, RUN_TIMEOUT_S, clean_command
from writer_app.training.tools import SPEC_NAME, load_spec
from writer_app.ui.app import GUI_TEST_TEXT

RESULT_WAIT_S = 240  # the longest a window test may take to report (model load + a ghost)


def report_field(output: str, name: str) -> str:
    """Return the value of `name:` in a --self-test report."""
    match = re.search(rf"^{re.escape(name)}:\s*(.*)$", output, re.M)
    assert match, f"no {name!r} in:\n{output}"
    return match.group(1)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def bundled_cpu_variants(bundle) -> list[str]:
    lib = bundle.folder / "_internal" / "llama_cpp" / "lib"
    return sorted(p.name[len("libggml-cpu-") : -3] for p in lib.glob("libggml-cpu-*.so"))


def test_self_test_in_a_clean_environment_prints_a_suggestion(bundle, run_clean):
    before = snapshot(bundle.folder)
    proc = run_clean(bundle.exe, "--self-test")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "self-test passed" in proc.stdout
    assert report_field(proc.stdout, "suggestion").strip("'\" ")
    assert report_field(proc.stdout, "backend").startswith("CPU")
    # The variant the engine process picked: one the bundle holds, or the native build.
    picked = report_field(proc.stdout, "cpu variant").split(":")[0]
    assert picked in bundled_cpu_variants(bundle) or (
        picked == "native build" and not bundled_cpu_variants(bundle)
    ), picked
    assert report_field(proc.stdout, "spelling") == "en_US (bundled)"
    assert "model load" in report_field(proc.stdout, "timings")
    assert str(bundle.folder) in report_field(proc.stdout, "model")  # the bundled one
    # A bundle in a read-only place (/opt) must not need to write into itself.
    assert snapshot(bundle.folder) == before


def test_bundle_holds_every_cpu_variant_of_the_installed_llama_cpp(bundle):
    # A portable build (packaging/portable_llama.sh) has one per instruction level;
    # a native build none. Unless the build was told --cpu-variants, all go in.
    if os.environ.get(REUSE_ENV):
        pytest.skip("a reused bundle may have been built with --cpu-variants")
    import llama_cpp

    venv_lib = Path(llama_cpp.__file__).parent / "lib"
    installed = sorted(p.name[len("libggml-cpu-") : -3] for p in venv_lib.glob("libggml-cpu-*.so"))
    assert bundled_cpu_variants(bundle) == installed


def test_spelling_in_a_clean_environment_uses_the_bundles_enchant(bundle, run_clean, tmp_path):
    # XDG_DATA_DIRS an empty folder: the host's dictionaries are out of the provider's reach.
    empty = tmp_path / "empty"
    empty.mkdir()
    before = snapshot(bundle.folder)
    proc = run_clean(bundle.exe, "--self-test-spelling", env={"XDG_DATA_DIRS": str(empty)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report_field(proc.stdout, "spelling") == "en_US (bundled)"
    internal = bundle.folder / "_internal"
    assert report_field(proc.stdout, "library") == str(internal / "enchant" / "libenchant-2.so.2")
    provider = internal / "enchant" / "enchant-2" / "enchant_hunspell.so"
    assert report_field(proc.stdout, "provider") == f"hunspell {provider}"
    assert report_field(proc.stdout, "hunspell").startswith(str(internal))
    assert "'necessary' right, 'neccessary' flagged" in report_field(proc.stdout, "check")
    assert snapshot(bundle.folder) == before


def test_the_bundles_dictionary_answers_before_the_hosts(bundle, run_clean, tmp_path):
    # A copy whose en_US.dic lacks "necessary": if the host's dictionary (reachable
    # here, XDG_DATA_DIRS unset) answered, "necessary" would pass.
    copy = bundle_copy(bundle, tmp_path)
    dic = copy / "_internal" / "enchant" / "share" / "hunspell" / "en_US.dic"
    dic.unlink()  # a new file, never a write through the hard link
    dic.write_text("2\nhello\nworld\n", encoding="utf-8")
    proc = run_clean(copy / "writer-app", "--self-test-spelling")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "'necessary' flagged" in report_field(proc.stdout, "check")


def test_bundle_holds_no_training_packages_but_says_which_to_get(bundle):
    internal = bundle.folder / "_internal"
    for name in ("torch", "transformers", "tokenizers"):
        assert not (internal / name).exists(), name
    assert not list(internal.glob("libtorch*"))
    spec = load_spec(internal / "resources" / SPEC_NAME)
    assert spec is not None and spec.installed_bytes > 500_000_000  # torch alone is 754 MB
    # The releases this bundle was built (and is tested) with.
    assert f"torch=={metadata.version('torch')}" in spec.requirements
    assert f"transformers=={metadata.version('transformers')}" in spec.requirements


def test_training_tools_install_from_the_bundle_and_it_trains_a_model_that_loads(
    bundle, run_clean, tmp_path
):
    """What Train on My Writing does in a bundle: the tools once (the bundle's pip, into the
    data folder), then training as the app's own --run-module, and the model it made."""
    # Where packages come from on this machine (its local wheels), which a fresh HOME
    # would lose: its PIP_* settings and its own pip.conf. A writer's is PyPI.
    pip_env = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    user_conf = [Path.home() / ".config" / "pip" / "pip.conf", Path.home() / ".pip" / "pip.conf"]
    for conf in [p for p in user_conf if p.is_file()][:1]:
        pip_env.setdefault("PIP_CONFIG_FILE", str(conf))
    home = tmp_path / "home"
    got = run_clean(bundle.exe, "--install-training-tools", home=home, env=pip_env)
    assert got.returncode == 0, got.stdout + got.stderr
    tools = home / ".local" / "share" / "writer-app" / "training-tools"
    assert "The training tools are installed in" in got.stdout
    assert [p.name for p in tools.iterdir()] == [f"py{sys.version_info[0]}{sys.version_info[1]}"]

    words = "the rain fell on the quiet town and she walked home alone through the dark".split()
    text = " ".join(words[i % len(words)] for i in range(3000))
    (tmp_path / "train.txt").write_text(text)
    (tmp_path / "val.txt").write_text(text[:4000])
    model = bundle.folder / "_internal" / "resources" / "models" / "writer-default-q8_0.gguf"
    out = tmp_path / "run"
    trained = run_clean(
        bundle.exe, "--run-module", "finetune.cli", "train", "--base", model,
        "--data", tmp_path / "train.txt", "--val-data", tmp_path / "val.txt", "--out", out,
        "--max-steps", "2", "--block-size", "64", "--micro-batch", "1", "--batch-tokens", "64",
        "--eval-every", "1", "--eval-windows", "1", "--threads", "1", home=home,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    gguf = out / "run-q8_0.gguf"
    assert gguf.is_file(), trained.stderr[-3000:]
    loads = run_clean(bundle.exe, "--self-test", "--model", gguf, home=home)
    assert loads.returncode == 0, loads.stdout + loads.stderr
    assert report_field(loads.stdout, "model").startswith(str(gguf))


def start_window_test(bundle, home: Path, out: Path, make_home: bool = True) -> subprocess.Popen:
    if make_home:
        home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        clean_command(home, bundle.exe, "--self-test-gui", out, display=True),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def wait_for_result(proc: subprocess.Popen, out: Path) -> dict:
    """Wait for the window test's result.json (the app then waits for `release`)."""
    deadline = time.monotonic() + RESULT_WAIT_S
    result = out / "result.json"
    while not result.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)  # xvfb-run, Xvfb, the app and its engine
            pytest.fail(f"the window test ended without a result:\n{proc.communicate()[0]}")
        time.sleep(0.2)
    time.sleep(0.2)  # written whole by then (one write_text)
    return json.loads(result.read_text(encoding="utf-8"))


def finish(proc: subprocess.Popen, out: Path) -> tuple[int, str]:
    (out / "release").touch()
    try:
        output = proc.communicate(timeout=RUN_TIMEOUT_S)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc.returncode, output


def test_window_shows_a_ghost_and_tab_inserts_it_with_the_engine_as_a_child(bundle, xvfb, tmp_path):
    out = tmp_path / "out"
    proc = start_window_test(bundle, tmp_path / "home", out)
    try:
        result = wait_for_result(proc, out)
        assert result["window_visible"], result
        assert result["engine_state"] == "ready", result
        # The engine is a child process of the app, and both are the bundle's executable.
        exe = str(bundle.exe.resolve())
        app = psutil.Process(result["app_pid"])
        engine = psutil.Process(result["engine_pid"])
        assert app.exe() == exe
        assert engine.exe() == exe
        assert engine.ppid() == app.pid
        assert "--engine-host" in engine.cmdline()
    finally:
        status, output = finish(proc, out)
    assert status == 0, output
    assert result["passed"], result
    ghost = result["ghost"]
    assert ghost.strip()
    saved = (out / "typed.txt").read_bytes()
    assert saved == (GUI_TEST_TEXT + ghost).encode("utf-8")


def bundle_copy(bundle, tmp_path: Path) -> Path:
    """A hard-linked copy of the bundle (cheap), to break without touching the original."""
    copy = tmp_path / "writer"
    subprocess.run(["cp", "-al", str(bundle.folder), str(copy)], check=True)
    return copy


@pytest.mark.parametrize("fault", ["missing", "corrupt"])
def test_a_broken_bundled_model_fails_the_self_test_and_the_editor_opens_without_suggestions(
    bundle, xvfb, run_clean, tmp_path, fault
):
    copy = bundle_copy(bundle, tmp_path)
    (model,) = (copy / "_internal" / "resources" / "models").glob("*.gguf")
    model.unlink()  # a new file, never a write through the hard link
    if fault == "corrupt":
        model.write_bytes(b"GGUF" + os.urandom(4096))

    proc = run_clean(copy / "writer-app", "--self-test")
    assert proc.returncode == 1, proc.stdout
    assert "Paste this into a bug report" in proc.stdout
    for field in ("model", "error", "writer", "os", "cpu", "cpu flags"):
        assert report_field(proc.stdout, field)
    if fault == "corrupt":
        assert str(model) in proc.stdout

    out = tmp_path / "out"
    window = start_window_test(type(bundle)(copy, bundle.share, bundle.deb), tmp_path / "h", out)
    try:
        result = wait_for_result(window, out)
    finally:
        status, output = finish(window, out)
    assert result["window_visible"], result
    assert result["engine_state"] == "failed", result
    assert "Settings → Model" in result["status_message"]  # what to do, in the status bar
    assert status == 3, output  # no ghost, as expected: the test says so, the app ran


def test_an_unwritable_home_tells_the_writer_where_to_save(bundle, xvfb, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")  # HOME below a file: unwritable even for root
    out = tmp_path / "out"
    proc = start_window_test(bundle, not_a_folder / "home", out, make_home=False)
    try:
        result = wait_for_result(proc, out)
    finally:
        status, output = finish(proc, out)
    said = " ".join(d["text"] for d in result["dialogs"]) + result["status_at_end"]
    assert "Save As" in said, result  # the app's own words, in a message box or the status bar
    assert status == 0 and result["passed"], output  # and the writing itself still works
