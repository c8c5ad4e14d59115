"""`make test` leaves the checkout as it was: what the suite writes goes to ignored paths."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_faults_conftest(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "faults"))
    spec = importlib.util.spec_from_file_location("faults_conftest_probe", ROOT / "tests" / "faults" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not shutil.which("git") or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_the_fault_report_goes_to_an_ignored_path_unless_asked(monkeypatch):
    monkeypatch.delenv("WORKESTRA_FAULTS_REPORT", raising=False)
    conftest = load_faults_conftest(monkeypatch)

    assert conftest.REPORT == ROOT / "var" / "faults_report.md"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(conftest.REPORT)], cwd=ROOT)
    assert ignored.returncode == 0, "var/faults_report.md must be git-ignored"
    makefile = (ROOT / "Makefile").read_text()
    assert "WORKESTRA_FAULTS_REPORT=bench/faults_report.md $(PY) -m pytest -m faults" in makefile
    sys.modules.pop("faults_conftest_probe", None)


def test_the_report_is_written_where_asked_and_the_tracked_one_is_kept(monkeypatch, tmp_path):
    from types import SimpleNamespace

    target = tmp_path / "report.md"
    monkeypatch.setenv("WORKESTRA_FAULTS_REPORT", str(target))
    conftest = load_faults_conftest(monkeypatch)
    tracked_before = conftest.TRACKED_REPORT.read_text()
    config = SimpleNamespace(invocation_params=SimpleNamespace(args=("-m", "faults")))

    conftest._write_report(config, "SQLite + probe", "| the table |")

    written = target.read_text()
    assert "<!-- faults: SQLite + probe -->\n## SQLite + probe" in written and "| the table |" in written
    assert conftest.TRACKED_REPORT.read_text() == tracked_before
    sys.modules.pop("faults_conftest_probe", None)
