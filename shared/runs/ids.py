"""Run ids (docs/design.md §4, §6).

A synchronous run's id carries its outcome, `{deployment}#sync#Success` or `#Failed`, and is
decoded without a call to Azure. A batch run's id is Azure's batch id (`batch_...`), a background
chat run's Azure's response id (`resp_...`); their state is Azure's, read through a signed status
link (`shared.runs.links`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from shared.errors import InvalidRunId
from shared.models.requests import DEPLOYMENT_NAME_PATTERN

SyncOutcome = Literal["Success", "Failed"]

_SYNC_RUN_ID = re.compile(
    rf"(?P<deployment>{DEPLOYMENT_NAME_PATTERN})#sync#(?P<outcome>Success|Failed)"
)
# Azure's batch ids are `batch_` and a GUID; a little slack in case the format grows.
BATCH_ID_PATTERN = r"batch_[A-Za-z0-9_-]{1,128}"
_BATCH_RUN_ID = re.compile(BATCH_ID_PATTERN)
# The Responses API's ids are `resp_` and hex; the same slack.
RESPONSE_ID_PATTERN = r"resp_[A-Za-z0-9_-]{1,128}"
_RESPONSE_RUN_ID = re.compile(RESPONSE_ID_PATTERN)


@dataclass(frozen=True)
class SyncRun:
    deployment: str
    outcome: SyncOutcome

    @property
    def run_id(self) -> str:
        return sync_run_id(self.deployment, self.outcome)


@dataclass(frozen=True)
class BatchRun:
    batch_id: str


@dataclass(frozen=True)
class ResponseRun:
    """A chat run in background mode: Azure's response id."""

    response_id: str


def sync_run_id(deployment: str, outcome: SyncOutcome) -> str:
    return f"{deployment}#sync#{outcome}"


def is_batch_id(value: str) -> bool:
    return _BATCH_RUN_ID.fullmatch(value) is not None


def is_response_id(value: str) -> bool:
    return _RESPONSE_RUN_ID.fullmatch(value) is not None


def parse_run_id(run_id: str) -> SyncRun | BatchRun | ResponseRun:
    if is_batch_id(run_id):
        return BatchRun(run_id)
    if is_response_id(run_id):
        return ResponseRun(run_id)
    match = _SYNC_RUN_ID.fullmatch(run_id)
    if match is None or match["deployment"] in {".", ".."}:
        raise InvalidRunId(
            "The run id must be '{deployment}#sync#Success', '{deployment}#sync#Failed' (with "
            "'#' sent as %23 in the URL), a batch id 'batch_...' or a response id 'resp_...'."
        )
    outcome: SyncOutcome = "Success" if match["outcome"] == "Success" else "Failed"
    return SyncRun(match["deployment"], outcome)
