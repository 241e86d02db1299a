"""The kit's own files are found from any folder, and a params file from any path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from csi_lib.cli import main
from csi_lib.resources import kit_dir


def test_kit_dir_finds_the_notebooks_and_templates_of_the_kit() -> None:
    assert (kit_dir("notebooks") / "baseline.ipynb").is_file()
    assert (kit_dir("templates") / "typst" / "report.typ").is_file()
    assert kit_dir("templates") == ROOT / "templates"


def test_run_from_another_folder_with_a_params_file_anywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # A client's folder outside the clone: its params file and nothing of the kit.
    client = tmp_path / "elsewhere"
    client.mkdir()
    params = client / "demo.yaml"
    text = (ROOT / "params" / "demo.yaml").read_text(encoding="utf-8")
    exports = (ROOT / "outputs" / "_exports" / "demo").resolve()
    params.write_text(text.replace("../outputs/_exports/demo", str(exports)), encoding="utf-8")
    monkeypatch.chdir(client)
    code = main(["run", "--params", str(params), "--outputs", str(tmp_path / "out"),
                 "--notebook", "baseline", "--service", "network", "--dry-run"])
    assert code == 0
    out = capsys.readouterr().out
    assert "run       demo/network/baseline" in out


def test_a_missing_params_file_is_named(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--params", str(tmp_path / "nope.yaml"), "--dry-run"])
    assert code == 2
    err = capsys.readouterr().err
    assert "nope.yaml does not exist" in err and "--params" in err


@pytest.mark.skipif(shutil.which("lint-imports") is None and not Path(
    sys.executable).with_name("lint-imports").exists(), reason="import-linter not installed")
def test_import_layers_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-2000:]
    assert "0 broken" in done.stdout
