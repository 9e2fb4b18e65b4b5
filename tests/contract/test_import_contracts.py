"""The import contracts of `make lint` hold for a service in shape, and fail when a rule is broken.

The contracts are read from the root pyproject.toml (the ones `lint-imports` checks), narrowed to
one service, and run on a copy of that service's package in a temporary directory: the copy as it
is passes; with `import pymongo` planted in its domain (or an adapter imported by its application)
the same contract fails and names the import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "messaging"
PACKAGE = f"oms_{SERVICE}"


def contracts_of(service: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = [c for c in config["contracts"] if c["id"].startswith(f"{service}-")]
    assert {c["id"] for c in contracts} == {
        f"{service}-core-free-of-io",
        f"{service}-domain-below-application",
        f"{service}-application-acyclic",
    }
    roots = ["oms_contracts", "oms_runtime", f"oms_{service}"]
    return {**config, "root_packages": roots, "contracts": contracts}


def toml_of(config: dict[str, object]) -> str:
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(i) for i in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["[tool.importlinter]"]
    lines += [f"{k} = {value(v)}" for k, v in config.items() if k != "contracts"]
    for contract in config["contracts"]:  # type: ignore[attr-defined]
        lines += ["", "[[tool.importlinter.contracts]]", *(f"{k} = {value(v)}" for k, v in contract.items())]
    return "\n".join(lines) + "\n"


def lint_imports(workdir: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, so it is the package grimp analyses, not the installed one.
    env = {**os.environ, "PYTHONPATH": str(workdir / "src")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--config", "contracts.toml", "--no-cache", "--no-logo"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "services" / SERVICE / "src" / PACKAGE,
        tmp_path / "src" / PACKAGE,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (tmp_path / "contracts.toml").write_text(toml_of(contracts_of(SERVICE)))
    return tmp_path


def plant(workdir: Path, module: str, line: str) -> None:
    path = workdir / "src" / PACKAGE / module
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_service_as_it_is_keeps_its_contracts(workdir: Path) -> None:
    result = lint_imports(workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_pymongo_planted_in_the_domain_breaks_the_contract(workdir: Path) -> None:
    plant(workdir, "domain/conversation.py", "import pymongo  # planted")
    result = lint_imports(workdir)
    assert result.returncode != 0
    assert f"{PACKAGE}.domain is not allowed to import pymongo" in result.stdout
    assert "1 broken" in result.stdout


def test_an_adapter_imported_by_the_application_breaks_the_contract(workdir: Path) -> None:
    plant(workdir, "application/conversations.py", f"from {PACKAGE}.adapters.outbound import messages_mongo  # planted")
    result = lint_imports(workdir)
    assert result.returncode != 0
    assert f"{PACKAGE}.application is not allowed to import {PACKAGE}.adapters" in result.stdout


def test_a_cycle_between_application_modules_breaks_the_contract(workdir: Path) -> None:
    plant(workdir, "application/ports.py", f"from {PACKAGE}.application import conversations  # planted")
    result = lint_imports(workdir)
    assert result.returncode != 0
    assert f"No cycles are allowed in {PACKAGE}.application" in result.stdout
