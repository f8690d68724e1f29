"""checkov scans infra/ (`--framework bicep`): no failed check, no file it cannot parse, and
every skipped check carries its reason in an inline `// checkov:skip=ID:reason`.

checkov has a lock and a venv of its own (requirements-checkov.txt, .venv-checkov: it pins
packaging<24, which pytest refuses); `make test` creates the venv before pytest runs. The scan
is `checkov -d infra --framework bicep --compact --skip-download -o json` (without `--quiet`, so
that the skipped checks are reported too); `--skip-download` keeps it offline: without it checkov
asks its vendor's API for check guidelines first.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.helpers import ROOT
from tests.test_dependencies import parse_lock, ranges, unadmitted_pins

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
SCAN = ["-d", "infra", "--framework", "bicep", "--compact", "--skip-download", "-o", "json"]
TIMEOUT_S = 300  # about 15 s on a 2-core machine


def problems(report: dict[str, Any]) -> list[str]:
    """Failed checks, parsing errors, and skips without a reason, in checkov's JSON report."""
    results, summary = report["results"], report["summary"]
    found = [
        f"{c['check_id']} failed for {c['resource']} ({c['file_path']}): {c.get('check_name', '')}"
        for c in results.get("failed_checks", [])
    ]
    found += [f"cannot parse {path}" for path in results.get("parsing_errors", [])]
    found += [
        f"{c['check_id']} skipped for {c['resource']} without a reason"
        for c in results.get("skipped_checks", [])
        if not (c.get("check_result", {}).get("suppress_comment") or "").strip()
    ]
    if summary.get("failed") and not results.get("failed_checks"):
        found.append(f"{summary['failed']} failed checks")
    return found


def test_a_failed_check_a_parsing_error_or_a_bare_skip_is_a_problem() -> None:
    def report(**results: Any) -> dict[str, Any]:
        return {"results": results, "summary": {"failed": len(results.get("failed_checks", []))}}

    skip = {"check_id": "CKV_1", "resource": "r", "check_result": {"suppress_comment": "why"}}
    assert problems(report(skipped_checks=[skip], failed_checks=[], parsing_errors=[])) == []
    bare = skip | {"check_result": {"suppress_comment": None}}
    failed = {"check_id": "CKV_2", "resource": "s", "file_path": "/a.bicep", "check_name": "x"}
    assert problems(
        report(failed_checks=[failed], parsing_errors=["/b.bicep"], skipped_checks=[bare])
    ) == [
        "CKV_2 failed for s (/a.bicep): x",
        "cannot parse /b.bicep",
        "CKV_1 skipped for r without a reason",
    ]


def test_the_checkov_lock_is_pinned_and_hashed() -> None:
    pins, lock_problems = parse_lock((ROOT / "requirements-checkov.txt").read_text())
    assert lock_problems == []
    wanted = ranges((ROOT / "requirements-checkov.in").read_text())
    assert [r.name for r in wanted] == ["checkov"]
    assert (
        unadmitted_pins(
            (ROOT / "requirements-checkov.in").read_text(),
            (ROOT / "requirements-checkov.txt").read_text(),
        )
        == []
    )
    assert "make lock" in (ROOT / "requirements-checkov.txt").read_text()
    assert pins


def test_checkov_finds_nothing_in_infra() -> None:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: `make test` creates .venv-checkov (or make checkov)")
    done = subprocess.run(
        [str(CHECKOV), *SCAN], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    report = json.loads(done.stdout)
    assert report["check_type"] == "bicep"
    assert report["summary"]["resource_count"] >= 20, report["summary"]
    assert report["summary"]["passed"] > 0
    assert problems(report) == []
    assert done.returncode == 0, done.stderr[-2000:]
