"""Bad input, property-based, over real HTTP through the local host (function keys enforced):
the same properties as `tests/functions/test_bad_input_properties.py`, with route parameters and
query values sent percent-encoded (`quote(value, safe='')`) or raw (only what cannot stand in a
request line at all, spaces, control and non-ASCII characters, is encoded).

The host may answer a URL it cannot route (an empty or dot segment, a raw `/` or `?`, 414 for a
URL over 4 KB) on its own, without JSON: then Azure must not have been called either. Everything
else is our functions' answer: JSON, never a 5xx, judged by the oracles of `tests/strategies.py`
(a raw value that the host splits or decodes its own way gets the weaker `any_outcome`).
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal
from urllib.parse import quote, unquote

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from local.host import LocalHost
from local.simulator import Simulator
from tests import strategies as s
from tests.helpers import FUNCTION_KEY, IDENTITY_HEADER, MASTER_KEY, TIMEOUT, api, link_signature

pytestmark = pytest.mark.integration

over_http = settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    deadline=None,
    derandomize=True,
    database=None,
)
How = Literal["encoded", "raw"]
hows: st.SearchStrategy[How] = st.sampled_from(["encoded", "raw"])
HOST_STATUSES = {400, 401, 404, 405, 413, 414}  # the host's own answers carry no JSON


@dataclass(frozen=True)
class Sent:
    """A value as it went into the URL, and what the function gets (None: we do not model
    how the host splits and decodes it)."""

    text: str
    delivered: str | None


def in_path(value: str, how: How) -> Sent:
    if how == "encoded":
        text = quote(value, safe="", errors="surrogatepass")
        # requests drops '.' and '..' segments (the host then routes elsewhere)
        return Sent(text, unquote(text) if value not in {".", ".."} else None)
    text = _raw(value)
    return Sent(text, None if set(value) & set("/?%") else unquote(text))


def in_query(value: str, how: How) -> Sent:
    if how == "encoded":
        text = quote(value, safe="", errors="surrogatepass")
        return Sent(text, unquote(text))
    text = _raw(value)
    return Sent(text, None if set(value) & set("&+%") else unquote(text))


def _raw(value: str) -> str:
    """Printable ASCII as it is (`/`, `?`, `#`, `%`, `..` included); anything else cannot be in
    a request line and is percent-encoded."""
    return "".join(
        c if "!" <= c <= "~" else quote(c, safe="", errors="surrogatepass") for c in value
    )


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    content_type: str
    body: bytes


def send_encoded(
    client: requests.Session, host: LocalHost, method: str, target: str, body: bytes
) -> HttpAnswer:
    response = client.request(method, host.url + target, data=body, timeout=TIMEOUT)
    content_type = response.headers.get("Content-Type", "")
    return HttpAnswer(response.status_code, content_type, response.content)


def send_raw(host: LocalHost, method: str, target: str, body: bytes, key: str | None) -> HttpAnswer:
    """The request line exactly as given: no client normalises or re-quotes it."""
    head = [f"{method} {target} HTTP/1.1", f"Host: {host.host}:{host.port}"]
    head += [f"Content-Length: {len(body)}", "Connection: close"]
    if key is not None:
        head.append(f"x-functions-key: {key}")
    with socket.create_connection((host.host, host.port), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        try:
            return HttpAnswer(
                response.status, response.getheader("Content-Type") or "", response.read()
            )
        finally:
            response.close()


def send(
    how: How,
    client: requests.Session,
    host: LocalHost,
    method: str,
    target: str,
    body: bytes = b"",
    key: str | None = FUNCTION_KEY,
) -> HttpAnswer:
    if how == "encoded":
        return send_encoded(client, host, method, target, body)
    return send_raw(host, method, target, body, key)


def judge(
    http_answer: HttpAnswer,
    expected: Callable[[], s.Expected] | None,
    sim: Simulator,
    marker: str | None,
    *,
    host_may_answer: bool,
) -> s.Answer | None:
    """Check one answer over HTTP; return it when it was our function's (for more checks).
    `expected` None: the value's delivery is not modelled, any documented outcome will do."""
    text = http_answer.body.decode("utf-8", "replace")
    assert http_answer.status < 500, f"{http_answer.status}: {text}"
    if not http_answer.content_type.startswith("application/json"):
        assert host_may_answer, f"the host answered a routable URL: {http_answer}"
        assert http_answer.status in HOST_STATUSES, http_answer
        assert not s.reached_azure(sim) and sim.token_requests() == []
        return None
    answer = s.Answer(http_answer.status, json.loads(http_answer.body), text)
    s.verify(expected() if expected else s.any_outcome(), answer, sim, marker)
    return answer


def too_long(target: str) -> bool:
    return len(target.encode()) > 4096  # the host answers 414


def routable(sent: Sent, target: str) -> bool:
    """Whether the host must hand this encoded value to the function."""
    return sent.delivered not in {None, ""} and not too_long(target)


# --- chat_run, embedding_run, batch_run ------------------------------------------------------


RunOracle = Callable[[str, bytes], s.Expected]
extras = st.one_of(
    st.none(), st.tuples(st.sampled_from(["code", "deployment", "x"]), s.arbitrary_strings())
)


def run_over_http(
    client: requests.Session,
    host: LocalHost,
    sim: Simulator,
    route: str,
    oracle: RunOracle,
    name: str,
    how: How,
    body: tuple[s.Body, str | None],
    known_file: str,
    extra: tuple[str, str] | None,
) -> s.Answer | None:
    """`extra`: a query parameter the run does not read (`code` is the host's, and the key the
    statusQueryUrl carries)."""
    sim.clear()
    sent = in_path(name, how)
    raw = body[0].encode(known_file)
    target = f"/api/{route}/{sent.text}"
    if extra is not None:
        target += f"?{in_query(extra[0], how).text}={in_query(extra[1], how).text}"
    delivered = sent.delivered
    expected = None if delivered is None else (lambda: oracle(delivered, raw))
    http_answer = send(how, client, host, "POST", target, raw)
    may = how == "raw" or not routable(sent, target)
    return judge(http_answer, expected, sim, body[1], host_may_answer=may)


@over_http
@given(name=s.deployment_names(), how=hows, body=s.bodies(s.chat_fields), extra=extras)
def test_chat_over_http(host, client, sim, seeded, name, how, body, extra):
    run_over_http(client, host, sim, "chat", s.expect_chat, name, how, body, seeded, extra)


@over_http
@given(name=st.sampled_from(sorted(s.SERVED_CHAT)), how=hows, obj=s.valid_bodies(s.chat_fields))
def test_chat_any_valid_body_over_http(host, client, sim, seeded, name, how, obj):
    body = (s.Body(obj), None)
    answer = run_over_http(client, host, sim, "chat", s.expect_chat, name, how, body, seeded, None)
    assert answer is not None and answer.status == 200, answer


@over_http
@given(name=s.deployment_names(), how=hows, body=s.bodies(s.embedding_fields), extra=extras)
def test_embedding_over_http(host, client, sim, seeded, name, how, body, extra):
    oracle = s.expect_embedding
    run_over_http(client, host, sim, "embeddings", oracle, name, how, body, seeded, extra)


@over_http
@given(how=hows, obj=s.valid_bodies(s.embedding_fields))
def test_embedding_any_valid_body_over_http(host, client, sim, seeded, how, obj):
    body = (s.Body(obj), None)
    name = "text-embedding-3-small"
    oracle = s.expect_embedding
    answer = run_over_http(client, host, sim, "embeddings", oracle, name, how, body, seeded, None)
    assert answer is not None and answer.status == 200, answer


@over_http
@given(name=s.deployment_names(batch=True), how=hows, body=s.bodies(s.batch_fields), extra=extras)
def test_batch_over_http(host, client, sim, seeded, name, how, body, extra):
    oracle = partial(s.expect_batch, known_file=seeded)
    answer = run_over_http(client, host, sim, "batches", oracle, name, how, body, seeded, extra)
    if answer is not None and answer.status == 202:
        # the statusQueryUrl works as handed out: it carries the key, no header needed
        polled = requests.get(answer.body["statusQueryUrl"], timeout=TIMEOUT)
        assert polled.status_code == 202, polled.text
        assert polled.json()["run_id"] == answer.body["run_id"]


@over_http
@given(
    name=st.sampled_from(["gpt-4o", "gpt-4o::batch"]),
    how=hows,
    extra=extras,
    with_file=st.booleans(),
)
def test_batch_status_link_over_http(host, client, sim, seeded, name, how, extra, with_file):
    """Any query parameter next to a valid submission: still a 202 whose link polls."""
    body = s.Body({"input_file_id": s.KNOWN_FILE} if with_file else {})
    oracle = partial(s.expect_batch, known_file=seeded)
    answer = run_over_http(
        client, host, sim, "batches", oracle, name, how, (body, None), seeded, extra
    )
    if answer is None:  # the host's own answer: only for a URL over 4 KB
        assert extra is not None and len(quote(extra[1], errors="surrogatepass")) > 4000
        return
    assert answer.status == 202, answer.body
    polled = requests.get(answer.body["statusQueryUrl"], timeout=TIMEOUT)
    assert polled.status_code == 202, (answer.body["statusQueryUrl"], polled.status_code)


# --- run_status -----------------------------------------------------------------------------


@pytest.fixture
def known_batch(host: LocalHost, seeded: str) -> tuple[str, dict[str, str]]:
    """A batch this app submitted, and its status link's signature (`expires`, `sig`)."""
    reply = api(host, "POST", "batches/gpt-4o", json={"input_file_id": seeded})
    assert reply.status_code == 202, reply.text
    return str(reply.json()["run_id"]), link_signature(reply.json()["statusQueryUrl"])


@over_http
@given(run_id=s.run_ids(), deployment=s.query_values(), how=hows)
@example(run_id=s.KNOWN_BATCH, deployment="gpt-4o", how="encoded")  # the signed poll, always
def test_status_over_http(host, client, sim, known_batch, run_id, deployment, how):
    """Any run id and deployment, anonymously; the known batch with its link's signature."""
    sim.clear()
    signature: dict[str, str] = {}
    if run_id == s.KNOWN_BATCH:
        run_id, signature = known_batch
    sent = in_path(run_id, how)
    target = f"/api/status/{sent.text}"
    named = None if deployment is None else in_query(deployment, how)
    query_parts = [] if named is None else [f"deployment={named.text}"]
    query_parts += [f"{name}={value}" for name, value in signature.items()]
    if query_parts:
        target += "?" + "&".join(query_parts)
    delivered = sent.delivered
    known = delivered is not None and (named is None or named.delivered is not None)
    query = None if named is None else named.delivered
    signed = bool(signature) and query == "gpt-4o"
    expected = (lambda: s.expect_status(str(delivered), query, signed)) if known else None
    http_answer = send(how, client, host, "GET", target)
    may = how == "raw" or not routable(sent, target)
    judge(http_answer, expected, sim, None, host_may_answer=may)


# --- jobs_list, discovery_run, health -------------------------------------------------------


@pytest.fixture
def discovered(host: LocalHost, sim: Simulator) -> None:
    """One discovery, then a deployment gone: the registry has live and retired jobs."""
    assert api(host, "POST", "discovery", key=MASTER_KEY).status_code == 200
    sim.set_deployments([d for d in sim.deployments if d.name != "gpt-4o-mini"])
    assert api(host, "POST", "discovery", key=MASTER_KEY).json()["retired"] == 2


@over_http
@given(job_type=s.job_types(), include_retired=s.flags(), how=hows, marker=s.markers)
def test_jobs_over_http(
    host, admin_client, sim, discovered, job_type, include_retired, how, marker
):
    sim.clear()
    if job_type is not None and job_type not in s.JOB_TYPES:
        job_type += marker
    values = {"job_type": job_type, "include_retired": include_retired}
    sent = {name: in_query(value, how) for name, value in values.items() if value is not None}
    target = "/api/jobs?" + "&".join(f"{name}={v.text}" for name, v in sent.items())
    known = all(v.delivered is not None for v in sent.values())
    delivered = {name: v.delivered for name, v in sent.items()}

    def expected() -> s.Expected:
        return s.expect_jobs(delivered.get("job_type"), delivered.get("include_retired"))

    http_answer = send(how, admin_client, host, "GET", target, key=MASTER_KEY)
    judge(http_answer, expected if known else None, sim, marker, host_may_answer=too_long(target))


def arbitrary_query(how: How) -> st.SearchStrategy[str]:
    pairs = st.lists(st.tuples(s.arbitrary_strings(), s.arbitrary_strings()), max_size=3)
    return pairs.map(
        lambda items: "&".join(f"{in_query(k, how).text}={in_query(v, how).text}" for k, v in items)
    )


keys = st.sampled_from([MASTER_KEY, FUNCTION_KEY, None, "not-a-key"])


@over_http
@given(key=keys, how=hows, data=st.data(), body=s.bodies(s.chat_fields))
def test_discovery_over_http(host, sim, registry_table, key, how, data, body):
    sim.clear()
    target = "/api/discovery?" + data.draw(arbitrary_query(how))
    http_answer = send_raw(host, "POST", target, body[0].encode(), key)
    if key != MASTER_KEY and not too_long(target):  # admin level: any other key is refused
        assert (http_answer.status, http_answer.body) == (401, b"")
        assert not s.reached_azure(sim) and sim.token_requests() == []
        return
    expected = s.goes_ahead(s.check_discovery)
    judge(http_answer, lambda: expected, sim, None, host_may_answer=too_long(target))


@over_http
@given(how=hows, data=st.data(), body=s.bodies(s.chat_fields))
def test_health_over_http(host, sim, app_env, how, data, body):
    sim.clear()
    target = "/api/health?" + data.draw(arbitrary_query(how))
    http_answer = send_raw(host, "GET", target, body[0].encode(), None)  # anonymous
    storage = app_env["AzureWebJobsStorage"]
    secrets = (IDENTITY_HEADER, storage, storage.partition("AccountKey=")[2].partition(";")[0])

    def check(answer: s.Answer, sim: Simulator) -> None:
        s.check_health(answer, sim, secrets)

    judge(http_answer, lambda: s.goes_ahead(check), sim, body[1], host_may_answer=too_long(target))
