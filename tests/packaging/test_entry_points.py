"""writer-app's entry points, from the virtualenv (fast; the bundle's own tests are in
test_bundle.py): the hidden engine-host entry a frozen app starts its engine with,
and --self-test with its bug report."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gpt2gguf.llama import cpu_variant, load_cpu_variants
from writer_app.engine import vecmath
from writer_app.engine.client import EngineClient
from writer_app.engine.protocol import CancelFlag
from writer_app.ui.app import ENGINE_HOST_ARG, self_test

ROOT = Path(__file__).resolve().parents[2]


def test_engine_host_argument_serves_the_engine_without_loading_qt(tmp_path):
    flag = CancelFlag()
    try:
        code = (
            "import sys; from writer_app.ui.app import main; "
            f"status = main([{ENGINE_HOST_ARG!r}, '--cancel-file', {flag.path!r}]); "
            "print('qt loaded:', 'PySide6' in sys.modules, file=sys.stderr); sys.exit(status)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.DEVNULL,
            capture_output=True, timeout=120,
        )  # fmt: skip
    finally:
        flag.close()
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout  # the Hello frame
    assert b"qt loaded: False" in proc.stderr


def test_a_frozen_app_starts_its_engine_as_itself_with_engine_host(tmp_path, monkeypatch):
    # A stand-in for the bundle's executable: it logs its arguments and runs writer-app's main.
    argv_log = tmp_path / "argv"
    app = tmp_path / "writer-app"
    app.write_text(f'#!/bin/sh\necho "$@" > {argv_log}\nexec {sys.executable} -m writer_app "$@"\n')
    app.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    client = EngineClient()
    try:
        hello = client.start()
    finally:
        client.dispose()
    assert hello.pid > 0
    assert argv_log.read_text().split()[0] == ENGINE_HOST_ARG


def test_self_test_passes_with_the_bundled_model():
    out = io.StringIO()
    assert self_test(out=out) == 0, out.getvalue()
    report = out.getvalue()
    assert "suggestion:" in report and "timings:" in report
    # The engine process's answer, the same as this process's: same libraries, same CPU.
    assert re.search(rf"^cpu variant: +{re.escape(cpu_variant())}$", report, re.M), report
    assert re.search(r"^spelling: +en_US \(system\)$", report, re.M), report  # not a bundle
    # The engine process's exp pass, as this process would choose it.
    assert f"the softmax's exp pass in {vecmath.backend()}" in report, report


def test_self_test_with_a_corrupt_model_prints_a_report_for_a_bug_report(tmp_path):
    model = tmp_path / "broken.gguf"
    model.write_bytes(b"GGUF" + bytes(100))
    out = io.StringIO()
    assert self_test(str(model), out=out) == 1
    report = out.getvalue()
    assert "Paste this into a bug report" in report
    assert str(model) in report
    for field in ("error:", "writer:", "os:", "cpu:", "cpu flags:"):
        assert field in report, report


def test_cpu_variant_of_a_native_build():
    if load_cpu_variants():
        pytest.skip("this llama-cpp-python is a portable build")
    assert cpu_variant().startswith("native build")
