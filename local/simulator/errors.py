"""Azure's error bodies, and Reject: what validation raises to answer one of them instead of
going on.

Three shapes, as Azure answers them:
    {"error": {"code": ..., "message": ...}}           the gateway, ARM, files and batches
    {"error": {"message", "type": "invalid_request_error", "param", "code": null}}
                                                       a bad chat or embeddings body
    {"statusCode": ..., "message": ...}                the managed-identity endpoint
"""

from __future__ import annotations

import json

from local.simulator.responses import Response, json_response


class Reject(Exception):
    """Raised by validation to answer with ``response`` instead of continuing."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def azure_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": {"code": code, "message": message}})


def identity_error(status: int, message: str) -> Response:
    return json_response(status, {"statusCode": status, "message": message})


def invalid_request(
    message: str, param: str | None, code: str | None = None, status: int = 400
) -> Reject:
    """An error in the OpenAI shape (type invalid_request_error), 400 unless `status` says."""
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return Reject(json_response(status, {"error": error}))


def resource_not_found() -> Response:
    return azure_error(404, "404", "Resource not found")


def not_found(message: str) -> Reject:
    """A 404 for an unknown file or batch, worded like Azure's."""
    return Reject(azure_error(404, "404", message))


def shown(value: object) -> str:
    """A client's value in a message: its JSON form, or "nothing" when it sent none."""
    return "nothing" if value is None else json.dumps(value)
