"""Serve a v2-model FunctionApp's HTTP functions over real HTTP, like `func start` does.

Routes are literal segments and whole `{name}` parameters, all the app uses; a route with any
other template feature fails when the app is loaded. The request URL a function sees is built
from the caller's Host header, as the Functions host builds it.

Usage: `python -m local.host [--host 127.0.0.1] [--port 7071]` from the directory that holds
`function_app.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import importlib
import inspect
import os
import re
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, unquote

import azure.functions as func
from azure.functions.decorators.http import HttpTrigger

from local._http import KeepAliveHandler, TrackingHTTPServer
from local.invocation import invocation_context, takes_context

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7071
DEFAULT_ROUTE_PREFIX = "api"
APP_MODULE = "function_app"
APP_ATTRIBUTE = "app"

MAX_BODY_BYTES = 100 * 1024 * 1024  # Azure Functions' request body limit
MAX_URL_BYTES = 4096
MAX_CHUNK_LINE_BYTES = 65536
MAX_PORT = 65535
# Idle keep-alive connections each hold a thread; Kestrel drops them after about two minutes.
IDLE_CONNECTION_TIMEOUT_SECONDS = 120.0

LANDING_TEXT = "Polysync Azure OpenAI local host"
KEY_HEADER = "x-functions-key"
KEY_QUERY_PARAM = "code"
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
LANDING_METHODS = frozenset({"GET", "HEAD"})
# The host owns message framing; a function cannot override it.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
# A route segment the host serves: literal text, or one whole `{name}` parameter. The app's
# routes need nothing more; the route features of ASP.NET templates it does not use (catch-all,
# optional, constraints, defaults) are refused when the app is loaded, not half-served.
PARAMETER_SEGMENT = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")
UNSUPPORTED_ROUTE_FEATURES = (
    ("*", "a catch-all parameter"),
    ("?", "an optional parameter"),
    (":", "a parameter constraint"),
    ("=", "a parameter default"),
)
# What a Host header may be: a name or an IPv4 or bracketed IPv6 address, and maybe a port.
HOST_HEADER = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
)
MAX_HOST_HEADER_BYTES = 255

SegmentKind = Literal["literal", "parameter"]
Log = Callable[[str], None]


@dataclass(frozen=True)
class HostKeys:
    """Keys to enforce like Azure; without them the host checks no keys, like `func start`."""

    function_keys: frozenset[str]
    master_key: str

    def allow(self, auth_level: func.AuthLevel, key: str | None) -> bool:
        if auth_level == func.AuthLevel.ANONYMOUS:
            return True
        if key is None:
            return False
        if _same_secret(key, self.master_key):
            return True
        if auth_level == func.AuthLevel.ADMIN:
            return False
        return any(_same_secret(key, candidate) for candidate in self.function_keys)


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str  # the literal text, or the parameter name

    def accepts(self, value: str) -> bool:
        if self.kind == "literal":
            return value.casefold() == self.text.casefold()
        return value != ""


@dataclass(frozen=True)
class Route:
    function_name: str
    template: str
    methods: frozenset[str] | None  # None accepts every method
    auth_level: func.AuthLevel
    trigger_arg: str
    function: Callable[..., Any] = field(repr=False, compare=False)
    segments: tuple[Segment, ...] = field(repr=False, compare=False)
    takes_context: bool = False  # a `context` parameter: the worker passes func.Context

    def allows(self, method: str) -> bool:
        return self.methods is None or method in self.methods

    def match(self, raw_segments: Sequence[str]) -> dict[str, str] | None:
        """Route parameters when the raw (still percent-encoded) path fits the template."""
        if len(raw_segments) != len(self.segments):
            return None
        values: dict[str, str] = {}
        for segment, raw in zip(self.segments, raw_segments, strict=True):
            value = unquote(raw)
            if not segment.accepts(value):
                return None
            if segment.kind == "parameter":
                values[segment.text] = value
        return values


class LocalHost:
    def __init__(
        self,
        app: func.FunctionApp,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        route_prefix: str = DEFAULT_ROUTE_PREFIX,
        keys: HostKeys | None = None,
        log: Log | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if max_body_bytes < 0:
            raise ValueError("max_body_bytes must be >= 0")
        self.host = host
        self.port = port
        self.keys = keys
        self.max_body_bytes = max_body_bytes  # larger request bodies get 413
        self.log: Log = log or _print_to_stderr
        self.routes: list[Route] = discover_routes(app, route_prefix)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalHost:
        if self._server is not None:
            raise RuntimeError("LocalHost is already running")
        server = _Server((self.host, self.port), _Handler, self)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, name=f"local-host-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.close_open_connections()
        server.server_close()
        if thread is not None:
            thread.join()

    def find_route(
        self, method: str, raw_segments: Sequence[str]
    ) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if not route.allows(method):
                continue
            route_params = route.match(raw_segments)
            if route_params is not None:
                return route, route_params
        return None

    def __enter__(self) -> LocalHost:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# `FunctionApp.get_functions()` indexes once per app: a second call raises "does not have a
# unique function name". The Functions host calls it once per process; so do we, per app.
_INDEXED: weakref.WeakKeyDictionary[func.FunctionApp, list[Any]] = weakref.WeakKeyDictionary()


def indexed_functions(app: func.FunctionApp) -> list[Any]:
    """The app's functions, indexed once per app object as the host does."""
    if app not in _INDEXED:
        _INDEXED[app] = list(app.get_functions())
    return _INDEXED[app]


def discover_routes(app: func.FunctionApp, route_prefix: str) -> list[Route]:
    routes: list[Route] = []
    for function in indexed_functions(app):
        trigger = function.get_trigger()
        if not isinstance(trigger, HttpTrigger):
            continue
        user_function = function.get_user_function()
        name = function.get_function_name() or user_function.__name__
        template = trigger.route if trigger.route is not None else name
        _check_trigger_argument(name, user_function, trigger.name)
        try:
            segments = parse_template(f"{route_prefix}/{template}")
        except ValueError as error:
            raise ValueError(f"function {name!r}: {error}") from None
        routes.append(
            Route(
                function_name=name,
                template=template,
                methods=_method_names(trigger.methods),
                auth_level=trigger.auth_level or func.AuthLevel.FUNCTION,
                trigger_arg=trigger.name,
                function=user_function,
                segments=segments,
                takes_context=takes_context(user_function),
            )
        )
    return routes


def _check_trigger_argument(name: str, function: Callable[..., Any], argument: str) -> None:
    # The Python worker refuses to index such a function, so fail at startup as Azure would.
    parameters = inspect.signature(function).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    if argument not in parameters and not takes_any:
        raise ValueError(f"function {name!r} has no parameter {argument!r} for its HTTP trigger")


def parse_template(template: str) -> tuple[Segment, ...]:
    """The segments of a route template; ValueError, naming the feature, for a template the
    host does not serve (anything but literal segments and whole `{name}` parameters)."""
    segments = tuple(_parse_segment(template, part) for part in _split_path(template))
    names = [segment.text for segment in segments if segment.kind == "parameter"]
    if len(set(names)) != len(names):
        raise ValueError(f"route {template!r} names a parameter twice")
    return segments


def _parse_segment(template: str, part: str) -> Segment:
    if "{" not in part and "}" not in part:
        return Segment("literal", part)
    parameter = PARAMETER_SEGMENT.fullmatch(part)
    if parameter is not None:
        return Segment("parameter", parameter.group("name"))
    feature = next(
        (what for mark, what in UNSUPPORTED_ROUTE_FEATURES if mark in part),
        "a segment that is not one whole {name} parameter",
    )
    raise ValueError(
        f"route {template!r} uses {feature} ({part!r}), which the local host does not "
        "support: use literal segments and {name} parameters"
    )


def _method_names(methods: Iterable[func.HttpMethod] | None) -> frozenset[str] | None:
    if methods is None:
        return None
    return frozenset(str(method.value).upper() for method in methods)


def _split_path(path: str) -> list[str]:
    """Segments of a path, ignoring the leading slash and one trailing slash."""
    parts = path.strip("/").split("/")
    return [] if parts == [""] else parts


def _valid_host(value: str) -> bool:
    match = HOST_HEADER.fullmatch(value)
    if match is None or len(value) > MAX_HOST_HEADER_BYTES:
        return False
    port = match.group("port")
    return port is None or 1 <= int(port) <= MAX_PORT


def _same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Server(TrackingHTTPServer):
    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        local_host: LocalHost,
    ) -> None:
        self.local_host = local_host
        super().__init__(address, handler)


class _RequestError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Handler(KeepAliveHandler):
    timeout = IDLE_CONNECTION_TIMEOUT_SECONDS

    @property
    def local_host(self) -> LocalHost:
        return cast(_Server, self.server).local_host

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Any other method (TRACE, QUERY, ...) is routed too, as the Functions host routes it:
        # one that no function declares is its 404, not http.server's 501 error page.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        # The default access log prints the request line, whose query string may hold a key.
        pass

    def _handle(self) -> None:
        started = time.perf_counter()
        path = self.path.partition("?")[0]
        status = self._respond(path)
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.local_host.log(f"{self.command} {path[:MAX_URL_BYTES]} {status} {elapsed_ms:.1f}ms")

    def _respond(self, path: str) -> int:
        if len(self.path.encode()) > MAX_URL_BYTES:
            return self._send_error(414)
        found = self.local_host.find_route(self.command, _split_path(path))
        if found is None:
            if path == "/" and self.command in LANDING_METHODS:
                return self._send(
                    200,
                    [("Content-Type", "text/plain; charset=utf-8")],
                    f"{LANDING_TEXT}\n".encode(),
                )
            return self._send_error(404)
        route, route_params = found
        params = self._query_params()
        keys = self.local_host.keys
        if keys is not None and not keys.allow(route.auth_level, self._given_key(params)):
            return self._send_error(401)
        try:
            body = self._read_body()
        except _RequestError as error:
            return self._send_error(error.status, body_was_read=False)
        return self._run(route, self._build_request(route_params, params, body))

    def _run(self, route: Route, request: func.HttpRequest) -> int:
        try:
            status, headers, body = _render(_invoke(route, request))
        except Exception as error:
            self.local_host.log(
                f"Function {route.function_name} failed: {type(error).__name__}: {error}"
            )
            return self._send(500, [], b"")
        return self._send(status, headers, body)

    def _given_key(self, params: dict[str, str]) -> str | None:
        header_key = self.headers.get(KEY_HEADER)
        if header_key is not None:
            return header_key
        return params.get(KEY_QUERY_PARAM)

    def _query_params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for name, value in parse_qsl(self.path.partition("?")[2], keep_blank_values=True):
            params.setdefault(name, value)
        return params

    def _request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            previous = headers.get(name)
            headers[name] = value if previous is None else f"{previous}, {value}"
        return headers

    def _base_url(self) -> str:
        """The URL the caller used, as the Functions host gives it to the app: from the Host
        header when it is one host[:port], else the address the host is bound to."""
        given = self.headers.get_all("Host") or []
        if len(given) == 1 and _valid_host(given[0].strip()):
            return f"http://{given[0].strip()}"
        return self.local_host.url

    def _build_request(
        self, route_params: dict[str, str], params: dict[str, str], body: bytes
    ) -> func.HttpRequest:
        return func.HttpRequest(
            method=self.command,
            url=f"{self._base_url()}{self.path}",
            headers=self._request_headers(),
            params=params,
            route_params=route_params,
            body=body,
        )

    def _has_body(self) -> bool:
        length = self.headers.get("Content-Length")
        return "Transfer-Encoding" in self.headers or (length is not None and length != "0")

    def _read_body(self) -> bytes:
        transfer_encoding = self.headers.get("Transfer-Encoding")
        if transfer_encoding is not None:
            if transfer_encoding.split(",")[-1].strip().lower() != "chunked":
                raise _RequestError(400)
            return self._read_chunked_body()
        length = self._content_length()
        if length > self.local_host.max_body_bytes:
            raise _RequestError(413)
        return self.rfile.read(length)

    def _content_length(self) -> int:
        text = self.headers.get("Content-Length", "0").strip()
        if not (text.isascii() and text.isdigit()):
            raise _RequestError(400)
        return int(text)

    def _read_chunked_body(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        limit = self.local_host.max_body_bytes
        while (size := self._chunk_size()) > 0:
            total += size
            if total > limit:
                raise _RequestError(413)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(MAX_CHUNK_LINE_BYTES)
        while self.rfile.readline(MAX_CHUNK_LINE_BYTES).strip():
            pass  # trailers carry nothing a function can see
        return b"".join(chunks)

    def _chunk_size(self) -> int:
        line = self.rfile.readline(MAX_CHUNK_LINE_BYTES)
        try:
            return int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise _RequestError(400) from None

    def _send_error(self, status: int, *, body_was_read: bool | None = None) -> int:
        # An unread request body would be parsed as the next request, so drop the connection.
        unread = self._has_body() if body_was_read is None else not body_was_read
        return self._send(status, [], b"", close=unread)

    def _send(
        self, status: int, headers: list[tuple[str, str]], body: bytes, *, close: bool = False
    ) -> int:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status


def _invoke(route: Route, request: func.HttpRequest) -> func.HttpResponse:
    arguments: dict[str, Any] = {route.trigger_arg: request}
    if route.takes_context:
        arguments["context"] = invocation_context(route.function_name, request.headers)
    result = route.function(**arguments)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    if isinstance(result, str):
        return func.HttpResponse(result)
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"expected HttpResponse or str, got {type(result).__name__}")
    return result


def _render(response: func.HttpResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body, validated before anything is written to the socket."""
    status = int(response.status_code)
    if not 100 <= status <= 599:
        raise ValueError(f"invalid status code {status}")
    headers = [
        (str(name), str(value))
        for name, value in response.headers.items()
        if str(name).lower() not in FRAMING_HEADERS
    ]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", _content_type(response)))
    for name, value in headers:
        _check_header(name, value)
    return status, headers, response.get_body()


def _content_type(response: func.HttpResponse) -> str:
    mimetype = str(response.mimetype)
    # Matches the Python worker, which only names a charset for text/* types.
    if mimetype.startswith("text/"):
        return f"{mimetype}; charset={response.charset}"
    return mimetype


def _check_header(name: str, value: str) -> None:
    text = f"{name}{value}"
    if "\r" in text or "\n" in text or not name or ":" in name:
        raise ValueError(f"invalid response header {name!r}")
    text.encode("latin-1")


def load_app(directory: str) -> func.FunctionApp:
    sys.path.insert(0, directory)
    module = importlib.import_module(APP_MODULE)
    app = getattr(module, APP_ATTRIBUTE, None)
    if not isinstance(app, func.FunctionApp):
        raise SystemExit(f"{APP_MODULE}.{APP_ATTRIBUTE} is not an azure.functions.FunctionApp")
    return app


def describe(route: Route, url: str) -> str:
    methods = ",".join(sorted(route.methods)) if route.methods else "ALL"
    return f"  {route.function_name}: [{methods}] {url}/{route.template}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve function_app's HTTP functions locally.")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    local_host = LocalHost(load_app(os.getcwd()), host=args.host, port=args.port).start()
    prefix_url = f"{local_host.url}/{DEFAULT_ROUTE_PREFIX}"
    _print_to_stderr(f"Serving on {local_host.url} (Ctrl-C to stop)")
    for route in local_host.routes:
        _print_to_stderr(describe(route, prefix_url))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        local_host.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
