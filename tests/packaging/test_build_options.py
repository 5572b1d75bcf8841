"""packaging/build.py --cpu-variants: keep only the named CPU variants of a portable
llama.cpp build (an old CPU, simulated), and only warn on a native build."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def build():
    # By path: a top-level "packaging" would be PyPI's packaging library.
    spec = importlib.util.spec_from_file_location("writer_build", ROOT / "packaging" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def llama_lib(folder: Path, variants: list[str]) -> Path:
    """A llama_cpp/lib as a build leaves it: libllama, libggml and the CPU variants."""
    folder.mkdir()
    for name in ["libllama.so", "libggml.so.0", *(f"libggml-cpu-{v}.so" for v in variants)]:
        (folder / name).write_bytes(b"\x7fELF")
    return folder


def test_only_the_named_variants_stay(build, tmp_path):
    lib = llama_lib(tmp_path / "lib", ["x64", "sse42", "sandybridge", "haswell", "skylakex"])
    kept = build.keep_cpu_variants(lib, ["x64", "sse42", "sandybridge"])
    assert kept == ["sandybridge", "sse42", "x64"]
    assert sorted(p.name for p in lib.iterdir()) == [
        "libggml-cpu-sandybridge.so",
        "libggml-cpu-sse42.so",
        "libggml-cpu-x64.so",
        "libggml.so.0",
        "libllama.so",
    ]


def test_a_variant_the_build_lacks_stops_the_build_and_deletes_nothing(build, tmp_path):
    lib = llama_lib(tmp_path / "lib", ["x64", "haswell"])
    with pytest.raises(build.BuildError, match="no sse42 .*it has haswell, x64"):
        build.keep_cpu_variants(lib, ["x64", "sse42"])
    assert len(list(lib.iterdir())) == 4


def test_a_native_build_only_warns(build, tmp_path, capsys):
    lib = llama_lib(tmp_path / "lib", [])
    (lib / "libggml-cpu.so.0").write_bytes(b"\x7fELF")  # a native build's CPU backend
    assert build.keep_cpu_variants(lib, ["x64"]) == []
    assert "native build" in capsys.readouterr().err
    assert len(list(lib.iterdir())) == 3


def test_the_option_reads_a_comma_separated_list(build, tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(build, "build", lambda out, **kw: seen.update(kw) or {})
    assert build.main(["--out", str(tmp_path), "--cpu-variants", "x64, sse42,sandybridge"]) == 0
    assert seen["cpu_variants"] == ["x64", "sse42", "sandybridge"]
