"""The app's one error tree, and the one table that maps it to HTTP status (docs/design.md §3).

    AppError
    ├── InvalidRequest            400  body not JSON / not an object, a field wrong or missing
    ├── InvalidDeploymentName     400
    ├── InvalidRunId              400
    ├── InvalidStatusLink         401  a poll without this app's valid signature for the run
    ├── JobNotRegistered          404  REQUIRE_REGISTERED_JOBS and no live registry definition
    ├── PayloadTooLarge           413
    ├── InvalidInputModel         422  job type does not fit the deployment
    ├── RunFailed                 422  a status poll of a synchronous run that failed
    ├── BatchEnded                422  a batch Azure ended without success
    │   ├── BatchFailed
    │   ├── BatchExpired
    │   └── BatchCancelled
    ├── ResponseEnded             422  a background response Azure ended without an answer
    │   ├── ResponseFailed
    │   └── ResponseCancelled
    ├── NotConfigured             500  a required setting is missing or invalid
    ├── InvalidJobDefinition      500  a registry entity an administrator edited is unreadable
    ├── InternalError             500  a bug (never carries a stack trace or upstream text)
    ├── RegistryUnavailable       503  storage unreachable and no definition known
    └── UpstreamError                  Azure answered badly, or not at all
        ├── DeploymentNotFound    404
        ├── BatchNotFound         404  a status poll for a batch Azure does not know
        ├── ResponseNotFound      404  a status poll for a background response Azure does not know
        ├── UpstreamRejected      422  Azure's 400 (content filter, unsupported parameter, ...)
        ├── UpstreamAuthFailed    502  Azure's 401/403
        ├── UpstreamUnavailable   502  5xx after retries, connection failures
        ├── UpstreamBadResponse   502  an answer we cannot read
        ├── UpstreamNotFound      502  ARM's 404 for the subscription, group or account
        ├── RateLimited           503  still throttled after retries (carries Retry-After)
        └── UpstreamTimeout       504  the run's deadline passed

Exceptions from `requests` and the azure SDKs are translated into these at one boundary each
(`shared.clients.transport`, `shared.clients.identity`, `shared.registry`) with
`raise ... from exc`. `shared.web` is the only place an error becomes a status and a body.

An error may carry the answer of the run it ended (`answer`: a failed batch's fields, a failed
discovery's outcome): the body is then that answer with `status: Failed` and the `error` object.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error with a stable code that reaches the caller as a JSON body."""

    code = "InternalError"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.run_id: str | None = None
        self.retry_after_s: int | None = None
        # The answer fields of the run this error ended, when there is more to say than the
        # error (a batch's state, a discovery's counts); see the module docstring.
        self.answer: dict[str, Any] | None = None

    def error_object(self) -> dict[str, Any]:
        """The `error` object of the response body."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return error

    def upstream_fields(self) -> dict[str, Any]:
        """Top-level fields that say what Azure answered (none for the app's own errors)."""
        return {}


class InvalidRequest(AppError):
    code = "InvalidRequest"


class InvalidDeploymentName(AppError):
    code = "InvalidDeploymentName"


class InvalidRunId(AppError):
    code = "InvalidRunId"


class InvalidStatusLink(AppError):
    code = "InvalidStatusLink"


class JobNotRegistered(AppError):
    code = "JobNotRegistered"

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.hint = hint

    def error_object(self) -> dict[str, Any]:
        return super().error_object() | {"hint": self.hint}


class PayloadTooLarge(AppError):
    code = "PayloadTooLarge"


class InvalidInputModel(AppError):
    code = "InvalidInputModel"


class RunFailed(AppError):
    code = "RunFailed"


class BatchEnded(AppError):
    """A batch that Azure ended without success; `errors` are Azure's own (at most 50)."""

    code = "BatchFailed"

    def __init__(self, message: str, errors: list[Any]) -> None:
        super().__init__(message)
        self.errors = errors

    def error_object(self) -> dict[str, Any]:
        return super().error_object() | {"errors": self.errors}


class BatchFailed(BatchEnded):
    code = "BatchFailed"


class BatchExpired(BatchEnded):
    code = "BatchExpired"


class BatchCancelled(BatchEnded):
    code = "BatchCancelled"


class ResponseEnded(AppError):
    """A background response that Azure ended failed or cancelled; `error` is Azure's."""

    code = "ResponseFailed"

    def __init__(self, message: str, azure_error: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.azure_error = azure_error

    def error_object(self) -> dict[str, Any]:
        return super().error_object() | {"upstream_error": self.azure_error}


class ResponseFailed(ResponseEnded):
    code = "ResponseFailed"


class ResponseCancelled(ResponseEnded):
    code = "ResponseCancelled"


class NotConfigured(AppError):
    code = "NotConfigured"


class InvalidJobDefinition(AppError):
    code = "InvalidJobDefinition"


class InternalError(AppError):
    code = "InternalError"


class RegistryUnavailable(AppError):
    code = "RegistryUnavailable"


class UpstreamError(AppError):
    """Azure answered with an error, or could not be reached or read."""

    code = "UpstreamUnavailable"

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        request_id: str | None = None,
        upstream_code: str | None = None,
        extra: dict[str, Any] | None = None,
        hint: str | None = None,
        upstream_param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status
        self.request_id = request_id
        self.upstream_code = upstream_code
        self.extra = extra or {}
        self.hint = hint
        self.upstream_param = upstream_param  # the request parameter Azure's 400 names

    def upstream_fields(self) -> dict[str, Any]:
        """What Azure's answer said about itself, when it answered: its status and request id."""
        fields = {"upstream_status": self.upstream_status, "request_id": self.request_id}
        return {name: value for name, value in fields.items() if value is not None}

    def error_object(self) -> dict[str, Any]:
        error = super().error_object()
        if self.upstream_code and self.upstream_code != self.code:
            error["upstream_code"] = self.upstream_code
        if self.hint:
            error["hint"] = self.hint
        error.update(self.extra)
        return error


class DeploymentNotFound(UpstreamError):
    code = "DeploymentNotFound"


class BatchNotFound(UpstreamError):
    code = "BatchNotFound"


class ResponseNotFound(UpstreamError):
    code = "ResponseNotFound"


class UpstreamRejected(UpstreamError):
    """Azure's 400; the code reaching the caller is Azure's own (e.g. `content_filter`)."""

    code = "UpstreamRejected"

    def error_object(self) -> dict[str, Any]:
        error = super().error_object()
        error["code"] = self.upstream_code or self.code
        error.pop("upstream_code", None)
        return error


class UpstreamAuthFailed(UpstreamError):
    code = "UpstreamAuthFailed"


class UpstreamUnavailable(UpstreamError):
    code = "UpstreamUnavailable"


class UpstreamBadResponse(UpstreamError):
    code = "UpstreamBadResponse"


class RateLimited(UpstreamError):
    code = "RateLimited"


class UpstreamTimeout(UpstreamError):
    code = "UpstreamTimeout"


class UpstreamNotFound(UpstreamError):
    code = "UpstreamNotFound"


HTTP_STATUS: dict[type[AppError], int] = {
    InvalidRequest: 400,
    InvalidDeploymentName: 400,
    InvalidRunId: 400,
    InvalidStatusLink: 401,
    JobNotRegistered: 404,
    PayloadTooLarge: 413,
    InvalidInputModel: 422,
    RunFailed: 422,
    BatchFailed: 422,
    BatchExpired: 422,
    BatchCancelled: 422,
    ResponseFailed: 422,
    ResponseCancelled: 422,
    NotConfigured: 500,
    InvalidJobDefinition: 500,
    InternalError: 500,
    RegistryUnavailable: 503,
    DeploymentNotFound: 404,
    BatchNotFound: 404,
    ResponseNotFound: 404,
    UpstreamRejected: 422,
    UpstreamAuthFailed: 502,
    UpstreamUnavailable: 502,
    UpstreamBadResponse: 502,
    UpstreamNotFound: 502,
    RateLimited: 503,
    UpstreamTimeout: 504,
}


def http_status(error: AppError) -> int:
    """The HTTP status of an error: the entry of its nearest class in `HTTP_STATUS`."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500
