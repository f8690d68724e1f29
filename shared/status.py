"""The run-id codec (design §4, §6): what a run id says, decoded without a call to Azure.

A synchronous run's id carries its outcome: `{deployment}#sync#Success` or `#Failed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from shared.errors import InvalidRunId
from shared.models import DEPLOYMENT_NAME_PATTERN

SyncOutcome = Literal["Success", "Failed"]

_SYNC_RUN_ID = re.compile(
    rf"(?P<deployment>{DEPLOYMENT_NAME_PATTERN})#sync#(?P<outcome>Success|Failed)"
)


@dataclass(frozen=True)
class SyncRun:
    deployment: str
    outcome: SyncOutcome

    @property
    def run_id(self) -> str:
        return sync_run_id(self.deployment, self.outcome)


def sync_run_id(deployment: str, outcome: SyncOutcome) -> str:
    return f"{deployment}#sync#{outcome}"


def parse_run_id(run_id: str) -> SyncRun:
    match = _SYNC_RUN_ID.fullmatch(run_id)
    if match is None:
        raise InvalidRunId(
            "The run id must be '{deployment}#sync#Success' or '{deployment}#sync#Failed' "
            "(with '#' sent as %23 in the URL)."
        )
    outcome: SyncOutcome = "Success" if match["outcome"] == "Success" else "Failed"
    return SyncRun(match["deployment"], outcome)
