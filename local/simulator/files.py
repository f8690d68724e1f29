"""The Files API: batch input files the caller uploads, and the output and error files batches
write.

    POST /openai/files   (multipart/form-data: purpose=batch, file)   GET /openai/files
    GET|DELETE /openai/files/{file_id}   GET /openai/files/{file_id}/content
"""

from __future__ import annotations

import email.policy
import uuid
from dataclasses import dataclass
from email.parser import BytesParser
from typing import Any

from local.simulator.errors import Reject, azure_error, not_found, shown
from local.simulator.models import RecordedRequest, check_type
from local.simulator.responses import BINARY_TYPE, Response, json_response
from local.simulator.routing import Guard, Route, route
from local.simulator.state import State

FILES_PATH = r"/openai/files"
FILE_PATH = FILES_PATH + r"/(?P<file_id>[^/]+)"
FILE_ID_PREFIX = "file-"
PURPOSE_BATCH = "batch"  # the only purpose an upload may have
PURPOSE_BATCH_OUTPUT = "batch_output"  # output and error files of a batch
DEFAULT_UPLOAD_NAME = "input.jsonl"
FILE_NOT_FOUND = "File not found"
UPLOAD_NOT_MULTIPART = (
    "The request must be multipart/form-data with the form fields 'purpose' and 'file'."
)
UPLOAD_BAD_PURPOSE = (
    "The form field 'purpose' must be 'batch' (got {purpose}); this simulator stores batch "
    "input files only."
)
UPLOAD_MISSING_FILE = (
    "The form field 'file' is required: send the file as a multipart/form-data part named "
    "'file' with a filename."
)


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int  # Unix seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "purpose": self.purpose,
            "filename": self.filename,
            "bytes": len(self.content),
            "created_at": self.created_at,
            "status": "processed",
            "status_details": None,
        }


class Files:
    """The stored files (oldest first) and their routes."""

    def __init__(self, state: State, guard: Guard) -> None:
        self._state = state
        self._guard = guard
        self._files: dict[str, StoredFile] = {}

    def routes(self) -> tuple[Route, ...]:
        guard = self._guard
        return (
            route("POST", FILES_PATH, self._upload_route, guard),
            route("GET", FILES_PATH, self._list_route, guard),
            route("GET", FILE_PATH, self._get_route, guard),
            route("GET", FILE_PATH + r"/content", self._content_route, guard),
            route("DELETE", FILE_PATH, self._delete_route, guard),
        )

    # -- the store -----------------------------------------------------------------------

    def upload(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        """Store a file as POST /openai/files does; return its file object."""
        check_type("content", content, bytes)
        check_type("filename", filename, str)
        if purpose != PURPOSE_BATCH:
            raise ValueError(UPLOAD_BAD_PURPOSE.format(purpose=shown(purpose)))
        if not filename:
            raise ValueError(UPLOAD_MISSING_FILE)
        with self._state.lock:
            created_at = int(self._state.clock())
            return self.store_locked(content, filename, purpose, created_at).to_json()

    def store_locked(
        self, content: bytes, filename: str, purpose: str, created_at: int
    ) -> StoredFile:
        file_id = FILE_ID_PREFIX + uuid.uuid4().hex
        stored = StoredFile(file_id, filename, purpose, content, created_at)
        self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """A stored file (immutable, so safe to read without the lock); None if unknown."""
        with self._state.lock:
            return self._files.get(file_id)

    def delete(self, file_id: str) -> bool:
        with self._state.lock:
            return self._files.pop(file_id, None) is not None

    def listing(self) -> list[dict[str, Any]]:
        """The file objects, oldest first."""
        with self._state.lock:
            return [stored.to_json() for stored in self._files.values()]

    def clear(self) -> None:
        with self._state.lock:
            self._files.clear()

    # -- the routes ----------------------------------------------------------------------

    def _upload_route(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        form = _multipart_form(request)
        purpose = form.get("purpose")
        purpose_text = None if purpose is None else purpose[1].decode("utf-8", "replace").strip()
        if purpose_text != PURPOSE_BATCH:
            message = UPLOAD_BAD_PURPOSE.format(purpose=shown(purpose_text))
            raise Reject(azure_error(400, "invalidPayload", message))
        filename, content = form.get("file") or (None, b"")
        if not filename:
            raise Reject(azure_error(400, "invalidPayload", UPLOAD_MISSING_FILE))
        return json_response(200, self.upload(content, filename, PURPOSE_BATCH))

    def _get_route(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        stored = self.get(params["file_id"])
        if stored is None:
            raise not_found(FILE_NOT_FOUND)
        return json_response(200, stored.to_json())

    def _content_route(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        stored = self.get(params["file_id"])
        if stored is None:
            raise not_found(FILE_NOT_FOUND)
        return Response(200, stored.content, {"content-type": BINARY_TYPE})

    def _list_route(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        purpose = request.query.get("purpose")
        files = [f for f in reversed(self.listing()) if purpose is None or f["purpose"] == purpose]
        return json_response(200, {"object": "list", "data": files})

    def _delete_route(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        if not self.delete(params["file_id"]):
            raise not_found(FILE_NOT_FOUND)
        return json_response(200, {"id": params["file_id"], "object": "file", "deleted": True})


def _multipart_form(request: RecordedRequest) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data body by field name: (filename, bytes)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise Reject(azure_error(400, "invalidPayload", UPLOAD_NOT_MULTIPART))
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise Reject(azure_error(400, "invalidPayload", UPLOAD_NOT_MULTIPART))
    form: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and name not in form:
            form[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return form
