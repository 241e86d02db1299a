"""The ``csi`` command on ordinary accidents: wrong params files, unreadable inputs,
unwritable outputs, and the commands the README documents."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import PARAMS_YAML, ROOT, TICKETS_CSV, write_yaml

from csi_lib.cli import main

NOTEBOOKS = str(ROOT / "notebooks")


def _client(folder: Path, name: str = "tiny", extra: str = "", text: str = PARAMS_YAML) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_yaml(folder / "tickets.csv", TICKETS_CSV)
    return write_yaml(folder / f"{name}.yaml", text + extra)


def _run(*args: str | Path) -> list[str]:
    return ["run", *map(str, args), "--notebooks-dir", NOTEBOOKS, "--dry-run"]


# Two params files, one client id ------------------------------------------------

def test_two_params_files_with_one_client_id_are_refused_naming_both(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _client(tmp_path / "params")
    # The copy even says why its name differs: the id still names one folder.
    second = _client(tmp_path / "params", "tiny-copy",
                     text=PARAMS_YAML.replace("client: {id: tiny, name: Tiny Ltd}",
                                         "client:\n  id: tiny\n  name: Tiny Ltd\n"
                                         "  id_differs_because: a copy kept for the audit"))
    code = main(_run("--all", "--params-dir", tmp_path / "params", "--outputs", tmp_path / "out"))
    err = capsys.readouterr().err
    assert code == 2
    assert f"{second.resolve()} and {first.resolve()} both have client.id 'tiny'" in err \
        or f"{first.resolve()} and {second.resolve()} both have client.id 'tiny'" in err
    assert "outputs/tiny/" in err
    assert not (tmp_path / "out").exists()


def test_a_params_file_named_after_another_client_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _client(tmp_path, "acme")
    assert main(["check", "--params", str(path), "--outputs", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{path.resolve()} has client.id 'tiny', but the file is named acme.yaml" in err
    assert "client.id_differs_because" in err
    assert main(_run("--params", path, "--outputs", tmp_path / "out")) == 2
    assert "but the file is named acme.yaml" in capsys.readouterr().err


def test_a_params_file_may_say_why_its_name_differs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = PARAMS_YAML.replace("client: {id: tiny, name: Tiny Ltd}",
                               "client:\n  id: tiny\n  name: Tiny Ltd\n"
                               "  id_differs_because: named after the 2026 contract")
    path = _client(tmp_path, "contract-2026", text=text)
    assert main(["check", "--params", str(path), "--outputs", str(tmp_path / "out")]) == 0
    assert "tiny: params valid" in capsys.readouterr().out


# Inputs of the client-level reports ---------------------------------------------

@pytest.mark.parametrize(("extra", "make", "message"), [
    ("prioritisation: {register_file: register.xlsx}\n",
     lambda d: (d / "register.xlsx").write_bytes(b"not a workbook"),
     "improvement register {d}/register.xlsx is not a readable .xlsx workbook"),
    ("maturity: {questionnaires: q, model: model.yaml}\n",
     lambda d: ((d / "q").mkdir(), (d / "model.yaml").write_text("areas: [unclosed\n")),
     "maturity model {d}/model.yaml is not valid YAML"),
    ("maturity: {questionnaires: q, model: model.yaml}\n",
     lambda d: ((d / "q").mkdir(), (d / "model.yaml").write_bytes(b"id: caf\xe9\n")),
     "maturity model file {d}/model.yaml cannot be read: not UTF-8 text"),
])
def test_an_unreadable_register_or_model_fails_in_check_and_at_plan_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, make: object,
        message: str) -> None:
    path = _client(tmp_path, extra=extra)
    make(tmp_path)  # type: ignore[operator]
    expected = message.format(d=tmp_path.resolve())
    assert main(["check", "--params", str(path), "--outputs", str(tmp_path / "out")]) == 2
    assert expected in capsys.readouterr().err
    assert main(_run("--params", path, "--outputs", tmp_path / "out")) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "out" / "tiny" / "_work").exists()


def test_check_reads_the_demo_clients_register_and_questionnaires(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--client", "demo", "--params-dir", str(ROOT / "params"),
                 "--outputs", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "prioritisation: inputs readable" in out
    assert "maturity: inputs readable" in out


# The README's commands ----------------------------------------------------------

def test_demo_data_works_as_the_readme_documents(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    assert "\ncsi demo-data  " in readme  # the documented command, without --client
    (tmp_path / "params").mkdir()
    shutil.copy(ROOT / "params" / "demo.yaml", tmp_path / "params" / "demo.yaml")
    monkeypatch.chdir(tmp_path)  # a clone's root: params/demo.yaml
    assert main(["demo-data"]) == 0
    tickets = tmp_path / "outputs" / "_exports" / "demo" / "tickets.csv"
    assert f"wrote tickets: {tickets.relative_to(tmp_path)}" in capsys.readouterr().out \
        or tickets.is_file()
    first = tickets.read_bytes()
    assert first.count(b"\n") > 1000
    assert main(["demo-data"]) == 0
    assert tickets.read_bytes() == first  # seeded: the same exports every time


# Outputs that cannot be written -------------------------------------------------

def test_an_outputs_path_that_is_a_file_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _client(tmp_path)
    (tmp_path / "out").write_text("a file")
    assert main(_run("--params", path, "--outputs", tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert f"outputs folder {tmp_path / 'out'} is not a folder" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root ignores file permissions, so a read-only folder is writable")
def test_an_outputs_folder_that_cannot_be_written_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _client(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main(["run", "--params", str(path), "--outputs", str(out),
                     "--notebooks-dir", NOTEBOOKS]) == 2
    finally:
        out.chmod(0o755)
    err = capsys.readouterr().err
    assert f"cannot write to the outputs folder {out}: write permission missing" in err
    assert f"chmod u+wx {out}" in err
    assert "Traceback" not in err
