"""scripts/smoke.py, the check a user runs after `azd up`, run as they would run it (a separate
process, keys in its environment) against the app on the local host with function keys
enforced, the simulator playing Azure OpenAI and Azurite the registry, configured as the Bicep
configures Azure (REQUIRE_REGISTERED_JOBS=true): so the script that checks Azure is itself
checked. Every step passes, a batch round trip included; a wrong master key fails the admin
steps (exit 1); no key ever shows in its output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from local.host import LocalHost
from local.simulator import Simulator
from tests.conftest import AppSettings
from tests.helpers import FUNCTION_KEY, MASTER_KEY, ROOT

pytestmark = pytest.mark.integration

SCRIPT = ROOT / "scripts" / "smoke.py"
DEPLOYMENT = "gpt-4o"
TIMEOUT_S = 120
BATCH_LINE = {
    "custom_id": "task-0",
    "method": "POST",
    "url": "/chat/completions",
    "body": {"model": DEPLOYMENT, "messages": [{"role": "user", "content": "Say hello"}]},
}


def smoke(
    host: LocalHost, *args: str, master_key: str = MASTER_KEY
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SMOKE_APP_URL": host.url,
        "SMOKE_FUNCTION_KEY": FUNCTION_KEY,
        "SMOKE_MASTER_KEY": master_key,
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--deployment", DEPLOYMENT, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def lines(output: str, verdict: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if line.startswith(verdict)]


def test_every_step_passes_against_the_local_stack(
    host: LocalHost, sim: Simulator, app_settings: AppSettings
) -> None:
    app_settings.set("REQUIRE_REGISTERED_JOBS", "true")
    sim.batch_step_s = 0.2
    file_id = sim.upload_file(json.dumps(BATCH_LINE).encode())
    done = smoke(host, "--batch-input-file-id", file_id, "--batch-wait-s", "30", "--poll-s", "0.2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines(done.stdout, "FAIL") == []
    assert lines(done.stdout, "PASS") == [
        "health",
        "health",  # "health details"
        "discovery",
        "jobs",
        "chat",  # "chat run"
        "chat",  # "chat status"
        "batch",  # "batch submit"
        "batch",  # "batch poll"
    ]
    assert f"run_id={DEPLOYMENT}#sync#Success" in done.stdout
    assert "link carries no key: True" in done.stdout
    assert "HTTP 200 Success output_file_id=file-" in done.stdout
    assert "smoke test: 8 of 8 steps passed" in done.stdout
    assert FUNCTION_KEY not in done.stdout + done.stderr
    assert MASTER_KEY not in done.stdout + done.stderr


def test_a_wrong_master_key_fails_the_admin_steps_and_is_never_printed(
    host: LocalHost, sim: Simulator
) -> None:
    wrong = "not-the-master-key-0123456789"
    done = smoke(host, master_key=wrong)
    assert done.returncode == 1
    assert lines(done.stdout, "FAIL") == ["discovery", "jobs"]
    assert "HTTP 401" in done.stdout
    assert wrong not in done.stdout + done.stderr and FUNCTION_KEY not in done.stdout


def test_without_keys_it_refuses_to_start() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--url", "http://127.0.0.1:9", "--deployment", DEPLOYMENT],
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 2
    assert "SMOKE_FUNCTION_KEY" in done.stderr
