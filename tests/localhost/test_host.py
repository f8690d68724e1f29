"""Tests for local.host, driven over real HTTP against a FunctionApp built here."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
import requests
from requests.adapters import HTTPAdapter

from local.host import MAX_BODY_BYTES, HostKeys, LocalHost, load_app, parse_template

FUNCTION_KEY = "function-key-1"
MASTER_KEY = "master-key"
CONCURRENT_REQUESTS = 32
TIMEOUT = 10
ECHOED_HEADERS = ("x-test", "content-type")
SMALL_BODY_LIMIT = 16

concurrency_barrier = threading.Barrier(CONCURRENT_REQUESTS, timeout=TIMEOUT)


def build_app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="echo/{name}", methods=["POST"])
    def echo(req: func.HttpRequest) -> func.HttpResponse:
        payload = {
            "method": req.method,
            "url": req.url,
            "route_params": dict(req.route_params),
            "params": dict(req.params),
            "headers": {name: req.headers.get(name) for name in ECHOED_HEADERS},
            "body_length": len(req.get_body()),
        }
        return func.HttpResponse(json.dumps(payload), mimetype="application/json")

    @app.route(
        route="public/{page}",
        methods=["GET"],
        auth_level=func.AuthLevel.ANONYMOUS,
        trigger_arg_name="request",
    )
    def public(request: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(json.dumps(dict(request.route_params)))

    @app.route(route="greet/{name}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def greet(req: func.HttpRequest) -> str:
        return f"hello {req.route_params['name']}"

    @app.route(route="ops/ping", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
    def ping(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("pong")

    @app.route(route="teapot", auth_level=func.AuthLevel.ANONYMOUS)
    def teapot(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(
            "short and stout", status_code=418, headers={"X-Custom": "yes"}, mimetype="text/plain"
        )

    @app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
    def boom(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("database exploded")

    @app.route(route="bad-header", auth_level=func.AuthLevel.ANONYMOUS)
    def bad_header(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("x", headers={"X-Injected": "a\r\nSet-Cookie: evil=1"})

    @app.route(route="slow-together", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def slow_together(req: func.HttpRequest) -> func.HttpResponse:
        # Only passes when all requests run at the same time.
        concurrency_barrier.wait()
        return func.HttpResponse(req.params["i"])

    @app.route(route="async", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    async def asynchronous(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("awaited")

    @app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
    def tick(timer: func.TimerRequest) -> None:
        pass

    return app


@pytest.fixture(scope="module")
def log_lines() -> list[str]:
    return []


@pytest.fixture(scope="module")
def host(log_lines: list[str]) -> Iterator[LocalHost]:
    with LocalHost(build_app(), port=0, log=log_lines.append) as local_host:
        yield local_host


@pytest.fixture(scope="module")
def small_limit_host() -> Iterator[LocalHost]:
    app, limit = build_app(), SMALL_BODY_LIMIT
    with LocalHost(app, port=0, log=lambda line: None, max_body_bytes=limit) as local_host:
        yield local_host


@pytest.fixture(scope="module")
def keyed_host() -> Iterator[LocalHost]:
    keys = HostKeys(function_keys=frozenset({FUNCTION_KEY}), master_key=MASTER_KEY)
    with LocalHost(build_app(), port=0, keys=keys, log=lambda line: None) as local_host:
        yield local_host


def api(host: LocalHost, path: str) -> str:
    return f"{host.url}/api/{path}"


def echo(host: LocalHost, path: str, **kwargs: Any) -> dict[str, object]:
    response = requests.post(api(host, path), timeout=TIMEOUT, **kwargs)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def raw_exchange(host: LocalHost, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", host.port), timeout=TIMEOUT) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_discovers_http_functions_and_skips_timers(host: LocalHost) -> None:
    routes = {route.function_name: route for route in host.routes}

    assert "tick" not in routes
    assert routes["echo"].template == "echo/{name}"
    assert routes["echo"].methods == frozenset({"POST"})
    assert routes["echo"].auth_level == func.AuthLevel.FUNCTION
    assert routes["public"].trigger_arg == "request"
    assert routes["teapot"].methods is None
    assert routes["ping"].auth_level == func.AuthLevel.ADMIN


def test_url_uses_the_bound_port(host: LocalHost) -> None:
    assert host.port != 0
    assert host.url == f"http://127.0.0.1:{host.port}"


def test_passes_method_route_params_query_headers_and_body(host: LocalHost) -> None:
    body = b"\x00\x01hello"
    result = echo(
        host,
        "echo/alice?x=1&x=2&empty=",
        data=body,
        headers={"X-Test": "value", "Content-Type": "application/octet-stream"},
    )

    assert result["method"] == "POST"
    assert result["route_params"] == {"name": "alice"}
    assert result["params"] == {"x": "1", "empty": ""}
    assert result["headers"] == {"x-test": "value", "content-type": "application/octet-stream"}
    assert result["body_length"] == len(body)
    assert result["url"] == f"{host.url}/api/echo/alice?x=1&x=2&empty="


def url_seen_by_the_app(host: LocalHost, host_headers: list[str]) -> str:
    """The request URL the app gets for a request sent with these Host header lines."""
    lines = "".join(f"Host: {value}\r\n" for value in host_headers)
    request = f"POST /api/echo/x?a=1 HTTP/1.1\r\n{lines}Content-Length: 0\r\nConnection: close\r\n"
    response = raw_exchange(host, request.encode() + b"\r\n")
    assert response.startswith(b"HTTP/1.1 200 "), response
    url = json.loads(response.partition(b"\r\n\r\n")[2])["url"]
    assert isinstance(url, str)
    return url


@pytest.mark.parametrize(
    "host_header", ["localhost:{port}", "LocalHost:{port}", "localhost", "[::1]:{port}", "app.test"]
)
def test_request_url_keeps_the_callers_host(host: LocalHost, host_header: str) -> None:
    given = host_header.format(port=host.port)
    assert url_seen_by_the_app(host, [given]) == f"http://{given}/api/echo/x?a=1"


@pytest.mark.parametrize(
    "host_headers",
    [
        [],
        [""],
        ["evil.test/path"],
        ["user@evil.test"],
        ["two words"],
        ["localhost:"],
        ["localhost:99999"],
        ["localhost:0"],
        ["localhost:port"],
        ["[::1"],
        ["-leading-dash"],
        ["a" * 256],
        ["localhost:1", "localhost:2"],
    ],
)
def test_request_url_falls_back_to_the_bound_address_without_a_valid_host(
    host: LocalHost, host_headers: list[str]
) -> None:
    assert url_seen_by_the_app(host, host_headers) == f"{host.url}/api/echo/x?a=1"


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("a%2Fb", "a/b"),
        ("caf%C3%A9", "café"),
        ("a%3Fb", "a?b"),
        ("%2e%2e", ".."),
        ("two%20words", "two words"),
        ("plus+sign", "plus+sign"),
    ],
)
def test_percent_decodes_each_route_segment(host: LocalHost, raw: str, decoded: str) -> None:
    assert echo(host, f"echo/{raw}")["route_params"] == {"name": decoded}


def test_literal_segments_match_case_insensitively(host: LocalHost) -> None:
    assert echo(host, "ECHO/Bob")["route_params"] == {"name": "Bob"}
    assert requests.post(f"{host.url}/API/echo/x", timeout=TIMEOUT).status_code == 200


def test_trailing_slash_is_ignored(host: LocalHost) -> None:
    assert echo(host, "echo/bob/")["route_params"] == {"name": "bob"}


def test_a_parameter_is_exactly_one_segment(host: LocalHost) -> None:
    assert requests.get(api(host, "public/a%2Fb"), timeout=TIMEOUT).json() == {"page": "a/b"}
    assert requests.get(api(host, "public/a/b"), timeout=TIMEOUT).status_code == 404
    assert requests.get(api(host, "public"), timeout=TIMEOUT).status_code == 404
    assert requests.get(api(host, "greet/-7"), timeout=TIMEOUT).text == "hello -7"


def test_writes_status_headers_and_body_of_the_response(host: LocalHost) -> None:
    response = requests.get(api(host, "teapot"), timeout=TIMEOUT)

    assert response.status_code == 418
    assert response.text == "short and stout"
    assert response.headers["X-Custom"] == "yes"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Length"] == str(len("short and stout"))


def test_json_mimetype_is_sent_without_charset_like_the_worker(host: LocalHost) -> None:
    response = requests.post(api(host, "echo/x"), timeout=TIMEOUT)
    assert response.headers["Content-Type"] == "application/json"


def test_head_sends_headers_without_body(host: LocalHost) -> None:
    response = requests.head(api(host, "teapot"), timeout=TIMEOUT)
    assert response.status_code == 418
    assert response.headers["Content-Length"] == str(len("short and stout"))
    assert response.content == b""


def test_async_functions_and_string_results_are_supported(host: LocalHost) -> None:
    assert requests.get(api(host, "async"), timeout=TIMEOUT).text == "awaited"
    assert requests.get(api(host, "greet/zed"), timeout=TIMEOUT).text == "hello zed"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "nope"), ("GET", "echo/x"), ("POST", "echo"), ("POST", "echo/a/b"), ("GET", "")],
)
def test_unknown_route_or_wrong_method_is_404_with_empty_body(
    host: LocalHost, method: str, path: str
) -> None:
    response = requests.request(method, api(host, path), timeout=TIMEOUT)
    assert response.status_code == 404
    assert response.content == b""


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_a_method_http_server_does_not_know_is_routed_like_any_other(
    host: LocalHost, method: str
) -> None:
    # schemathesis found TRACE answered with http.server's 501 HTML page, a server error the
    # Functions host never gives: a method no function declares is a 404 with an empty body.
    response = requests.request(method, api(host, "echo"), timeout=TIMEOUT)
    assert (response.status_code, response.content) == (404, b"")


def test_failing_function_gives_500_without_body_and_logs_the_error(
    host: LocalHost, log_lines: list[str]
) -> None:
    response = requests.get(api(host, "boom"), timeout=TIMEOUT)

    assert response.status_code == 500
    assert response.content == b""
    assert any("RuntimeError: database exploded" in line for line in log_lines)
    assert not any("Traceback" in line for line in log_lines)


def test_invalid_response_header_gives_500_instead_of_injecting(host: LocalHost) -> None:
    response = requests.get(api(host, "bad-header"), timeout=TIMEOUT)
    assert response.status_code == 500
    assert "evil" not in response.headers.get("Set-Cookie", "")


def test_logs_one_line_per_request_without_query_or_body(
    host: LocalHost, log_lines: list[str]
) -> None:
    requests.post(api(host, "echo/logme?code=sekrit"), data=b"body-text", timeout=TIMEOUT)

    # The host logs a request once its answer is sent, so the line may trail the answer a bit.
    deadline = time.monotonic() + TIMEOUT
    while not any("/api/echo/logme" in line for line in log_lines):
        assert time.monotonic() < deadline, log_lines
        time.sleep(0.01)
    line = next(line for line in log_lines if "/api/echo/logme" in line)
    assert line.startswith("POST /api/echo/logme 200 ")
    assert line.endswith("ms")
    assert all("sekrit" not in entry and "body-text" not in entry for entry in log_lines)


def test_landing_page(host: LocalHost) -> None:
    response = requests.get(f"{host.url}/", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.text.strip() == "Polysync Azure OpenAI local host"
    assert response.headers["Content-Type"].startswith("text/plain")

    head = requests.head(f"{host.url}/", timeout=TIMEOUT)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == response.headers["Content-Length"]


def test_without_keys_no_key_is_checked(host: LocalHost) -> None:
    assert requests.get(api(host, "ops/ping"), timeout=TIMEOUT).status_code == 200
    assert requests.post(api(host, "echo/x"), timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize(
    ("path", "method", "headers", "expected"),
    [
        ("echo/x", "POST", {}, 401),
        ("echo/x", "POST", {"x-functions-key": "wrong"}, 401),
        ("echo/x", "POST", {"x-functions-key": FUNCTION_KEY}, 200),
        (f"echo/x?code={FUNCTION_KEY}", "POST", {}, 200),
        ("echo/x", "POST", {"x-functions-key": MASTER_KEY}, 200),
        ("ops/ping", "GET", {}, 401),
        ("ops/ping", "GET", {"x-functions-key": FUNCTION_KEY}, 401),
        (f"ops/ping?code={FUNCTION_KEY}", "GET", {}, 401),
        ("ops/ping", "GET", {"x-functions-key": MASTER_KEY}, 200),
        (f"ops/ping?code={MASTER_KEY}", "GET", {}, 200),
        ("teapot", "GET", {}, 418),
        ("nope", "GET", {}, 404),
    ],
)
def test_keys_are_enforced_per_auth_level(
    keyed_host: LocalHost, path: str, method: str, headers: dict[str, str], expected: int
) -> None:
    response = requests.request(method, api(keyed_host, path), headers=headers, timeout=TIMEOUT)
    assert response.status_code == expected
    if expected == 401:
        assert response.content == b""


def test_oversized_body_is_rejected_before_reading(host: LocalHost) -> None:
    request = (
        f"POST /api/echo/big HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    ).encode()

    response = raw_exchange(host, request)

    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in response


def test_default_body_limit_is_azures() -> None:
    assert LocalHost(build_app()).max_body_bytes == MAX_BODY_BYTES
    with pytest.raises(ValueError, match="max_body_bytes"):
        LocalHost(build_app(), max_body_bytes=-1)


def echoed_body_length(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 200 "), response
    body = response.partition(b"\r\n\r\n")[2]
    length = json.loads(body)["body_length"]
    assert isinstance(length, int)
    return length


def test_body_of_exactly_the_limit_is_accepted(small_limit_host: LocalHost) -> None:
    body = b"x" * SMALL_BODY_LIMIT
    head = f"POST /api/echo/x HTTP/1.1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"

    response = raw_exchange(small_limit_host, head.encode() + b"\r\n" + body)

    assert echoed_body_length(response) == SMALL_BODY_LIMIT


def test_body_one_byte_over_the_limit_is_413(small_limit_host: LocalHost) -> None:
    # Only the headers are sent: the host must refuse without reading the body.
    head = f"POST /api/echo/x HTTP/1.1\r\nContent-Length: {SMALL_BODY_LIMIT + 1}\r\n\r\n"

    response = raw_exchange(small_limit_host, head.encode())

    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in response


def chunked(*sizes: int) -> bytes:
    return b"".join(f"{size:x}\r\n".encode() + b"x" * size + b"\r\n" for size in sizes)


def test_chunked_body_of_exactly_the_limit_is_accepted(small_limit_host: LocalHost) -> None:
    half = SMALL_BODY_LIMIT // 2
    head = b"POST /api/echo/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"

    response = raw_exchange(small_limit_host, head + chunked(half, SMALL_BODY_LIMIT - half, 0))

    assert echoed_body_length(response) == SMALL_BODY_LIMIT


def test_chunked_body_one_byte_over_the_limit_is_413(small_limit_host: LocalHost) -> None:
    # Sent up to the size line that crosses the limit, whose chunk the host must not read.
    head = b"POST /api/echo/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

    response = raw_exchange(small_limit_host, head + chunked(SMALL_BODY_LIMIT) + b"1\r\n")

    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in response


def test_chunked_request_body_is_read(host: LocalHost) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"abc"
        yield b"defgh"

    assert echo(host, "echo/chunked", data=chunks())["body_length"] == 8


def test_too_long_url_is_414(host: LocalHost) -> None:
    response = requests.get(api(host, "teapot?q=" + "x" * 5000), timeout=TIMEOUT)
    assert response.status_code == 414


def test_keep_alive_reuses_one_connection(host: LocalHost) -> None:
    with requests.Session() as session:
        for index in range(5):
            response = session.post(api(host, f"echo/n{index}"), data=b"x", timeout=TIMEOUT)
            assert response.status_code == 200
        assert session.get(api(host, "nope"), timeout=TIMEOUT).status_code == 404
        assert session.get(api(host, "boom"), timeout=TIMEOUT).status_code == 500
        last = session.get(api(host, "teapot"), timeout=TIMEOUT)
        assert last.status_code == 418

        adapter = session.get_adapter(host.url)
        assert isinstance(adapter, HTTPAdapter)
        pools = adapter.poolmanager.pools
        [pool] = [pools[key] for key in pools.keys()]
        assert (pool.num_connections, pool.num_requests) == (1, 8)


def test_connection_with_an_unread_body_is_closed_and_the_session_recovers(
    host: LocalHost,
) -> None:
    with requests.Session() as session:
        refused = session.post(api(host, "nope"), data=b"unread body", timeout=TIMEOUT)
        assert refused.status_code == 404
        assert refused.headers["Connection"] == "close"
        assert session.post(api(host, "echo/again"), timeout=TIMEOUT).status_code == 200


def test_concurrent_requests_all_run_at_once(host: LocalHost) -> None:
    def call(index: int) -> tuple[int, str]:
        response = requests.get(api(host, f"slow-together?i={index}"), timeout=TIMEOUT * 2)
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        results = list(pool.map(call, range(CONCURRENT_REQUESTS)))

    assert results == [(200, str(index)) for index in range(CONCURRENT_REQUESTS)]


def test_stop_closes_the_listener_and_open_connections() -> None:
    local_host = LocalHost(build_app(), port=0, log=lambda line: None).start()
    session = requests.Session()
    assert session.get(api(local_host, "teapot"), timeout=TIMEOUT).status_code == 418

    local_host.stop()

    with pytest.raises(requests.ConnectionError):
        session.get(api(local_host, "teapot"), timeout=TIMEOUT)
    session.close()


@pytest.mark.parametrize(
    ("template", "feature"),
    [
        ("api/files/{*path}", "a catch-all parameter"),
        ("api/greet/{name?}", "an optional parameter"),
        ("api/items/{id:int}", "a parameter constraint"),
        ("api/items/{id:alpha:length(4)}", "a parameter constraint"),
        ("api/items/{id=1}", "a parameter default"),
        ("api/{a}.{b}", "a segment that is not one whole {name} parameter"),
        ("api/v{version}", "a segment that is not one whole {name} parameter"),
        ("api/{}", "a segment that is not one whole {name} parameter"),
        ("api/{a b}", "a segment that is not one whole {name} parameter"),
        ("api/a}", "a segment that is not one whole {name} parameter"),
    ],
)
def test_refuses_route_features_the_app_does_not_use(template: str, feature: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_template(template)
    assert str(refused.value).startswith(f"route {template!r} uses {feature} (")
    assert str(refused.value).endswith(
        "which the local host does not support: use literal segments and {name} parameters"
    )


def test_refuses_a_parameter_named_twice() -> None:
    with pytest.raises(ValueError, match="names a parameter twice"):
        parse_template("api/{a}/x/{a}")


def test_an_app_declaring_an_unsupported_route_fails_at_load() -> None:
    app = func.FunctionApp()

    @app.route(route="files/{*path}")
    def files(req: func.HttpRequest) -> str:
        return "unreachable"

    with pytest.raises(ValueError, match=r"^function 'files': route 'api/files/\{\*path\}' uses a"):
        LocalHost(app)


def test_serves_every_route_the_app_declares() -> None:
    import function_app

    templates = {route.template for route in LocalHost(function_app.app).routes}
    assert templates == {
        "chat/{deployment}",
        "embeddings/{deployment}",
        "batches/{deployment}",
        "status/{run_id}",
        "discovery",
        "jobs",
        "health",
        "health/details",
        "openapi.json",
    }


def test_trigger_argument_must_be_a_parameter_of_the_function() -> None:
    app = func.FunctionApp()

    @app.route(route="misnamed")
    def misnamed(request: func.HttpRequest) -> str:
        return "unreachable"

    with pytest.raises(ValueError, match="req"):
        LocalHost(app)


def test_load_app_imports_function_app_from_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "function_app.py").write_text(
        "import azure.functions as func\napp = func.FunctionApp()\n", encoding="utf-8"
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "function_app", raising=False)
    try:
        assert isinstance(load_app(str(tmp_path)), func.FunctionApp)
    finally:
        sys.modules.pop("function_app", None)
