"""Schemathesis against the running stack, through the gateway, with the public OpenAPI document.

The suite runs a few examples per operation (`make test`); `make fuzz` runs 100 per operation plus
the stateful phase and keeps the reports under .local/fuzz. Settings (environment):
OMS_FUZZ_EXAMPLES (3), OMS_FUZZ_PHASES (examples,fuzzing), OMS_FUZZ_REPORT_DIR, OMS_FUZZ_SEED,
OMS_FUZZ_TIMEOUT_SECONDS (1200, per role).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oms_gateway.openapi import DOCUMENT

from tests.e2e.stack import REPO

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")

# Defects of other services the fuzzing finds, left to their owners (each with who fixes it): the
# check named is switched off for that operation only, so anything new still fails the run.
KNOWN_DEFECTS: list[dict[str, object]] = []


@dataclass
class FuzzRun:
    role: str
    operations: int = 0
    examples: int = 0
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    report_dir: Path = REPO
    output: str = ""

    def summary(self) -> str:
        return (
            f"{self.role}: {self.operations} operations, {self.examples} examples, "
            f"{len(self.failures)} failures, {len(self.errors)} errors (reports: {self.report_dir})"
        )


def _config_file(report_dir: Path) -> Path:
    # The checks live here, not on the command line: there they would override the per-operation ones.
    lines = ["[checks]", "enabled = false", *(f"{check}.enabled = true" for check in CHECKS), ""]
    for defect in KNOWN_DEFECTS:
        lines += [f"# {defect['why']}", "[[operations]]", f"include-path = {json.dumps(defect['include-path'])}"]
        if "include-method" in defect:
            lines.append(f"include-method = {json.dumps(defect['include-method'])}")
        for check, value in defect["checks"].items():  # type: ignore[attr-defined]
            lines.append(f"checks.{check}.enabled = {str(value['enabled']).lower()}")
        lines.append("")
    path = report_dir / "schemathesis.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(gateway_url: str, role: str, headers: dict[str, str], report_root: Path | None = None) -> FuzzRun:
    examples = os.environ.get("OMS_FUZZ_EXAMPLES", "3")
    phases = os.environ.get("OMS_FUZZ_PHASES", "examples,fuzzing")
    root = Path(os.environ.get("OMS_FUZZ_REPORT_DIR", report_root or REPO / ".local" / "test" / "fuzz"))
    report_dir = root / role
    report_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(_config_file(report_dir)),
        "run",
        str(DOCUMENT),
        "--url",
        gateway_url,
        "--max-examples",
        examples,
        "--phases",
        phases,
        "--workers",
        "1",
        "--report",
        "json,junit",
        "--report-dir",
        str(report_dir),
        "--report-json-path",
        str(report_dir / "report.json"),
        "--report-junit-path",
        str(report_dir / "junit.xml"),
        "--warnings",
        "off",
        "--no-color",
    ]
    if seed := os.environ.get("OMS_FUZZ_SEED"):
        command += ["--seed", seed]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    timeout = float(os.environ.get("OMS_FUZZ_TIMEOUT_SECONDS", "1200"))
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=timeout, check=False)
    result = FuzzRun(role=role, report_dir=report_dir, output=done.stdout + done.stderr)
    (report_dir / "output.txt").write_text(result.output, encoding="utf-8")
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    _read_report(report, result)
    return result


def _read_report(report: dict[str, Any], result: FuzzRun) -> None:
    """Counts and failures from schemathesis' JSON run report."""
    result.operations = int(report["operations"]["tested"])
    result.examples = int(report["test_cases"]["generated"])
    for failure in report.get("failures") or []:
        for operation in failure.get("operations") or ["?"]:
            result.failures.append(f"{operation}: {failure['code']} {failure['title']}")
    for error in report.get("errors") or []:
        result.errors.append(f"{error.get('title')} x{error.get('count', 1)}")
