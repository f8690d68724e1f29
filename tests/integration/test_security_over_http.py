"""Who can call what, over real HTTP through the local host with function keys enforced: status
links are capabilities that carry no key, the anonymous health check says only ok, and the
operator functions need the master key."""

from __future__ import annotations

import pytest
import requests

from local.host import LocalHost
from local.simulator import Simulator
from tests.helpers import FUNCTION_KEY, MASTER_KEY, TIMEOUT, api, assert_status_link, link_params

pytestmark = pytest.mark.integration


def test_operator_functions_need_the_master_key(host: LocalHost, sim: Simulator) -> None:
    assert api(host, "POST", "discovery", key=MASTER_KEY).status_code == 200
    assert api(host, "GET", "jobs", key=FUNCTION_KEY).status_code == 401
    listed = api(host, "GET", "jobs", key=MASTER_KEY)
    assert listed.status_code == 200 and listed.json()["count"] == len(listed.json()["jobs"]) > 0


def test_the_anonymous_health_check_says_only_ok(host: LocalHost) -> None:
    anonymous = api(host, "GET", "health", key=None)
    assert (anonymous.status_code, anonymous.json()) == (200, {"status": "ok"})
    assert api(host, "GET", "health/details", key=None).status_code == 401
    details = api(host, "GET", "health/details", key=FUNCTION_KEY)
    assert details.status_code == 200 and details.json()["account"] == "test-aoai"


def test_a_batch_submitted_with_the_master_key_gets_a_link_without_it(
    host: LocalHost, sim: Simulator
) -> None:
    file_id = sim.upload_file(
        b'{"custom_id": "c", "method": "POST", "url": "/chat/completions", '
        b'"body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}}'
    )
    submitted = api(host, "POST", "batches/gpt-4o", key=MASTER_KEY, json={"input_file_id": file_id})
    assert submitted.status_code == 202, submitted.text
    url, batch_id = submitted.json()["statusQueryUrl"], submitted.json()["run_id"]
    assert MASTER_KEY not in url and FUNCTION_KEY not in url
    assert_status_link(url, host.url, batch_id, "gpt-4o")
    assert requests.get(url, timeout=TIMEOUT).status_code == 202  # no key: the link is enough

    sim.clear()
    tampered = link_params(url) | {"sig": link_params(url)["sig"][::-1]}
    refused = requests.get(url.split("?")[0], params=tampered, timeout=TIMEOUT)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "InvalidStatusLink"
    unsigned = requests.get(url.split("?")[0], params={"deployment": "gpt-4o"}, timeout=TIMEOUT)
    assert unsigned.status_code == 401
    assert sim.requests() == []
