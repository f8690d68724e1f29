"""What the chat, embeddings and responses routes share: the deployment lookup (from the path,
or on the v1 paths from the body's ``model``), the JSON body, parameter checks worded like the
OpenAI API, the simulated reply, and the 200 with the deployment's rate-limit headers."""

from __future__ import annotations

from typing import Any

from local.simulator.errors import Reject, azure_error, invalid_request
from local.simulator.families import Operation
from local.simulator.models import Deployment, RecordedRequest
from local.simulator.responses import Response, json_response
from local.simulator.state import State

OPENAI_DEPLOYMENT_PATH = r"/openai/deployments/(?P<deployment>[^/]+)"
V1_PATH = r"/openai/v1"  # no api-version; the deployment is the body's `model`
# Azure quota: one unit of deployment capacity is 1,000 tokens and 6 requests per minute.
TOKENS_PER_CAPACITY_UNIT = 1000
REQUESTS_PER_CAPACITY_UNIT = 6

DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment "
    "within the last 5 minutes, please wait a moment and try again."
)
OPERATION_NOT_SUPPORTED = (
    "The {operation} operation does not work with the specified model, {model}. Please "
    "choose different model and try again. You can learn more about which models can be "
    "used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
)
INVALID_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON.)"
)


def deployment_for(state: State, name: object, *, operation: Operation) -> Deployment:
    """The deployment a request names (a path segment, or a v1 body's ``model``: anything but a
    deployment's name is not found); Reject when there is none or its model's family cannot do
    the operation."""
    deployment = state.find_deployment(name) if isinstance(name, str) else None
    if deployment is None:
        raise Reject(azure_error(404, "DeploymentNotFound", DEPLOYMENT_NOT_FOUND))
    if not deployment.family.supports(operation):
        message = OPERATION_NOT_SUPPORTED.format(operation=operation, model=deployment.model)
        raise Reject(azure_error(400, "OperationNotSupported", message))
    return deployment


def json_body(request: RecordedRequest) -> dict[str, Any]:
    try:
        payload = request.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise invalid_request(INVALID_JSON, None)
    return payload


def json_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string"}
    names |= {list: "an array", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def numeric_param(
    payload: dict[str, Any], name: str, *, low: int, high: int | None = None, integer: bool = False
) -> Any:
    """Validate an optional number, worded like the OpenAI API; return it (or None)."""
    value = payload.get(name)
    if value is None:
        return None
    kind = "integer" if integer else "decimal"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        expected = "an integer" if integer else "a decimal"
        message = f"Invalid type for '{name}': expected {expected}, but got {json_type(value)}"
        raise invalid_request(message + " instead.", name)
    if value < low:
        bound = f"below minimum value. Expected a value >= {low}"
    elif high is not None and value > high:
        bound = f"above maximum value. Expected a value <= {high}"
    else:
        return value
    raise invalid_request(f"Invalid '{name}': {kind} {bound}, but got {value} instead.", name)


def count_words(text: str) -> int:
    return len(text.split())


def reply_words(deployment: Deployment, last_user_text: str | None) -> list[str]:
    """The simulated answer, word by word: which deployment answered and how many words the
    last user message had (it never echoes the prompt)."""
    count = count_words(last_user_text or "")
    plural = "" if count == 1 else "s"
    reply = f"Simulated reply from {deployment.name}: the last user message had "
    return (reply + f"{count} word{plural}.").split()


def success(deployment: Deployment, payload: dict[str, Any], tokens: int) -> Response:
    remaining_requests = deployment.capacity * REQUESTS_PER_CAPACITY_UNIT - 1
    remaining_tokens = deployment.capacity * TOKENS_PER_CAPACITY_UNIT - tokens
    headers = {
        "x-ms-deployment-name": deployment.name,
        "x-ratelimit-remaining-requests": str(max(0, remaining_requests)),
        "x-ratelimit-remaining-tokens": str(max(0, remaining_tokens)),
    }
    return json_response(200, payload, headers)


# Tokens a message costs beyond its words (role, separators): Chat Completions and Responses alike.
TOKENS_PER_MESSAGE = 4


def content_text(content: Any) -> str:
    """A message's or an item's text: a string, or the text of its parts (images count nothing)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part.get("text") for part in content if isinstance(part, dict)]
        return " ".join(part for part in parts if isinstance(part, str))
    return ""
