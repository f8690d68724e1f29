"""Azure's error bodies as the simulator's tests expect them, written out from Azure's own
wording (not imported from the simulator, so a test cannot agree with the simulator's bug)."""

from __future__ import annotations

from typing import Any


def openai_error(message: str, param: str | None, code: str | None = None) -> dict[str, Any]:
    """An error in the OpenAI shape (type invalid_request_error)."""
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


def operation_not_supported(operation: str, model: str) -> dict[str, Any]:
    """Azure's refusal of an operation the model has not (chat completions, responses)."""
    message = (
        f"The {operation} operation does not work with the specified model, {model}. Please "
        "choose different model and try again. You can learn more about which models can be "
        "used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
    )
    return {"error": {"code": "OperationNotSupported", "message": message}}
