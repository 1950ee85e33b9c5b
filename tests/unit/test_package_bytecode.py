"""The deployment zip's bytecode (infra.package.ship_bytecode), on small zips made here.

The real package is checked in tests/integration/test_packaging.py; these pin the rules: stray
bytecode from a work tree is dropped, every module gets unchecked hash-based bytecode for the Lambda
runtime's Python, and the same sources give the same bytes.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import package as package_module
from infra.package import ZIP_EPOCH, cache_name, is_bytecode, lambda_python, ship_bytecode

HERE = sys.version_info[:2]
SOURCES = {
    "app.py": b"from pkg import mod\nVALUE = mod.answer()\n",
    "pkg/__init__.py": b"",
    "pkg/mod.py": b'KINDS = {"a", "b", "c"}\n\n\ndef answer() -> str:\n    return "from the source"\n',
}


def make_zip(path: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**SOURCES, **(extra or {})}.items():
            archive.writestr(name, data)
    return path


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_the_runtime_version_comes_from_the_functions_of_the_template() -> None:
    template = {
        "Resources": {
            "Api": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.11"}},
            "Worker": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.11"}},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        }
    }
    assert lambda_python(template) == (3, 11)
    globals_only = {
        "Globals": {"Function": {"Runtime": "python3.12"}},
        "Resources": {"Api": {"Type": "AWS::Serverless::Function", "Properties": {}}},
    }
    assert lambda_python(globals_only) == (3, 12)


@pytest.mark.parametrize(
    "runtimes",
    [("python3.11", "python3.12"), ("nodejs20.x",)],
    ids=["two runtimes", "not python"],
)
def test_a_template_without_one_python_runtime_is_refused(runtimes: tuple[str, ...]) -> None:
    template = {
        "Resources": {
            f"F{i}": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": runtime}}
            for i, runtime in enumerate(runtimes)
        }
    }
    with pytest.raises(SystemExit):
        lambda_python(template)


def test_bytecode_is_recognised_wherever_it_is() -> None:
    assert is_bytecode("chalicelib/__pycache__/app.cpython-311.pyc")
    assert is_bytecode("chalicelib/__pycache__/")
    assert is_bytecode("old.pyc")
    assert not is_bytecode("chalicelib/bootstrap.py")
    assert not is_bytecode("chalicelib/data/jurisdictions.json")
    assert cache_name("pkg/mod.py", (3, 11)) == "pkg/__pycache__/mod.cpython-311.pyc"
    assert cache_name("app.py", (3, 11)) == "__pycache__/app.cpython-311.pyc"


def test_stray_bytecode_goes_and_every_module_gets_its_own(tmp_path: Path) -> None:
    zip_path = make_zip(
        tmp_path / "deployment.zip",
        {
            "pkg/__pycache__/mod.cpython-311.pyc": b"stale bytecode from a work tree",
            "pkg/__pycache__/gone.cpython-39.pyc": b"from a module that no longer exists",
        },
    )
    shipped = ship_bytecode(zip_path, HERE)
    assert shipped.stray_dropped == 2
    assert shipped.compiled == len(SOURCES)
    assert not shipped.not_compiled
    assert not shipped.skipped
    expected = set(SOURCES) | {cache_name(name, HERE) for name in SOURCES}
    assert set(names(zip_path)) == expected
    assert names(zip_path) == sorted(expected)
    with zipfile.ZipFile(zip_path) as archive:
        assert all(info.date_time == ZIP_EPOCH for info in archive.infolist())
        pyc = archive.read(cache_name("pkg/mod.py", HERE))
    # PEP 552: the magic number, then flags 0b01 (hash-based, source not checked), then the source hash.
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01
    assert pyc[8:16] == importlib.util.source_hash(SOURCES["pkg/mod.py"])


def test_the_same_sources_give_the_same_zip(tmp_path: Path) -> None:
    first = make_zip(tmp_path / "first.zip")
    second = make_zip(tmp_path / "second.zip", {"pkg/__pycache__/mod.cpython-311.pyc": b"stale"})
    ship_bytecode(first, HERE)
    ship_bytecode(second, HERE)
    assert first.read_bytes() == second.read_bytes()


def test_modes_come_from_the_kind_of_entry_not_from_the_work_trees_umask(tmp_path: Path) -> None:
    zip_path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, mode in (("pkg/mod.py", 0o100664), ("bin/tool", 0o100775), ("pkg/data.json", 0o100600)):
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, b"x = 1\n")
    ship_bytecode(zip_path, HERE)
    with zipfile.ZipFile(zip_path) as archive:
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert modes["pkg/mod.py"] == 0o100644
    assert modes["bin/tool"] == 0o100755
    assert modes["pkg/data.json"] == 0o100644
    assert modes[cache_name("pkg/mod.py", HERE)] == 0o100644


def test_a_compiler_that_produces_nothing_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zip_path = make_zip(tmp_path / "deployment.zip")
    before = zip_path.read_bytes()
    failed = subprocess.CompletedProcess[str](args=[], returncode=1, stdout="", stderr="compileall: broken")
    monkeypatch.setattr(package_module, "_compile_tree", lambda root: failed)
    with pytest.raises(SystemExit, match="compileall: broken"):
        ship_bytecode(zip_path, HERE)
    assert zip_path.read_bytes() == before  # nothing half-written


def test_a_file_that_is_not_valid_python_ships_without_bytecode(tmp_path: Path) -> None:
    zip_path = make_zip(tmp_path / "deployment.zip", {"pkg/py2_only.py": b"print 'hello'\n"})
    shipped = ship_bytecode(zip_path, HERE)
    assert shipped.not_compiled == ("pkg/py2_only.py",)
    assert "pkg/py2_only.py" in names(zip_path)
    assert cache_name("pkg/py2_only.py", HERE) not in names(zip_path)
    assert cache_name("pkg/mod.py", HERE) in names(zip_path)


def test_no_bytecode_is_added_for_another_python(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zip_path = make_zip(tmp_path / "deployment.zip", {"pkg/__pycache__/mod.cpython-311.pyc": b"stale"})
    other = (HERE[0], HERE[1] + 1)
    shipped = ship_bytecode(zip_path, other)
    assert shipped.skipped
    assert shipped.compiled == 0
    assert sorted(names(zip_path)) == sorted(SOURCES)  # the stray bytecode still goes
    assert f"Lambda runs {other[0]}.{other[1]}" in capsys.readouterr().err


def test_the_unpacked_zip_imports_from_its_bytecode_without_reading_the_source(tmp_path: Path) -> None:
    """As in Lambda: unpacked read-only, nothing written; unchecked bytecode is used as shipped."""
    zip_path = make_zip(tmp_path / "deployment.zip")
    ship_bytecode(zip_path, HERE)
    task = tmp_path / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task)
    # A changed source is not even looked at: the bytecode is unchecked (and /var/task never changes).
    (task / "pkg" / "mod.py").write_text('def answer() -> str:\n    return "from the changed source"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(  # our own interpreter on files made by this test
        [sys.executable, "-c", "import app; print(app.VALUE)"],
        cwd=task,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "from the source"
