"""The route table: each surface lists its rows; a request goes to the first that fits."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from local.simulator.errors import Reject, azure_error, resource_not_found
from local.simulator.models import RecordedRequest
from local.simulator.responses import Response

Handler = Callable[[RecordedRequest, dict[str, str]], Response]
Guard = Callable[[RecordedRequest], None]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]  # full-matched against the raw (still percent-encoded) path
    handler: Handler  # receives the named groups, percent-decoded
    guard: Guard | None = None  # checks run before the handler (api-version, auth)


def route(method: str, pattern: str, handler: Handler, guard: Guard | None = None) -> Route:
    return Route(method, re.compile(pattern), handler, guard)


def dispatch(routes: Iterable[Route], request: RecordedRequest) -> Response:
    """The answer of the first route whose method and pattern fit; Azure's 404 otherwise."""
    for row in routes:
        match = row.pattern.fullmatch(request.raw_path)
        if match is None or row.method != request.method:
            continue
        params = {name: unquote(value) for name, value in match.groupdict().items()}
        try:
            if row.guard is not None:
                row.guard(request)
            return row.handler(request, params)
        except Reject as reject:
            return reject.response
        except Exception as error:  # a simulator bug: say so loudly, keep serving
            traceback.print_exc()
            return azure_error(500, "SimulatorError", repr(error))
    return resource_not_found()
