"""The discovery sync (docs/design.md §7): list the account's deployments through ARM, classify
them, and bring the job registry in line; record and log the outcome. The timer and
`POST /api/discovery` run the same sync."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from shared import constants as c
from shared.clients.transport import Deadline
from shared.discovery.classify import PARAMETERS, classify
from shared.errors import AppError, NotConfigured
from shared.models.answers import DiscoveryOutcome, SyncCounts
from shared.telemetry.recorder import current_run
from shared.web import Outcome
from shared.wiring import Services

logger = logging.getLogger(__name__)

API_KEY_DISCOVERY_WARNING = (
    "Discovery returned 0 deployments: API-key auth cannot be used for discovery because "
    "control-plane (ARM) calls need Entra ID tokens. Switch the app's auth to AAD "
    "(AZURE_OPENAI_AUTH=aad) and grant its managed identity Reader on the Azure OpenAI resource."
)


def sync_deployments(trigger: str, services: Callable[[], Services]) -> Outcome:
    """One sync; a failure is answered with the outcome (`status: Failed`) and its error's
    status (`shared.errors`), and recorded like a success."""
    app = services()
    started_at, started = datetime.now(UTC), time.monotonic()
    outcome = DiscoveryOutcome(
        trigger=trigger,
        started_at=started_at.isoformat(),
        definitions={job_type: 0 for job_type in PARAMETERS},
    )
    failure: AppError | None = None
    try:
        _sync(app, outcome, started_at)
    except AppError as error:
        failure = error
        outcome.status = "Failed"
        outcome.error = error.error_object() | error.upstream_fields()
    outcome.duration_ms = round((time.monotonic() - started) * 1000)
    outcome.warnings = outcome.warnings[: c.MAX_STORED_WARNINGS]
    _record(app, outcome)
    _log(app, outcome)
    _describe_span(app, outcome)
    if failure is not None:
        failure.answer = outcome.to_json()
        raise failure
    return Outcome(200, outcome)


def _sync(app: Services, outcome: DiscoveryOutcome, started_at: datetime) -> None:
    if app.arm is None:
        outcome.warnings.append(API_KEY_DISCOVERY_WARNING)
        return
    settings = app.settings
    deployments = app.arm.list_deployments(
        _require("AZURE_SUBSCRIPTION_ID", settings.subscription_id),
        _require("AZURE_RESOURCE_GROUP", settings.resource_group),
        settings.require_account(),
        Deadline(settings.run_deadline_s),
    )
    jobs, warnings = classify(deployments, settings.monitor_url())
    counts = app.writer.sync(jobs, started_at)
    outcome.deployments = len(deployments)
    for job in jobs:
        outcome.definitions[job.job_type] += 1
    outcome.warnings.extend(warnings)
    for name, value in counts:
        setattr(outcome, name, value)


def _require(name: str, value: str | None) -> str:
    if not value:
        raise NotConfigured(f"Setting {name} is missing: discovery needs it to find the resource.")
    return value


# What a stored outcome keeps of an error: the codes, the app's hint and Azure's status and
# request id, not Azure's or azure-identity's message text (it can name resource groups and
# subscriptions, and `/api/health/details` shows the stored outcome).
STORED_ERROR_FIELDS = frozenset({"code", "upstream_code", "hint", "upstream_status", "request_id"})


def _record(app: Services, outcome: DiscoveryOutcome) -> None:
    stored = outcome.to_json()
    if outcome.error is not None:
        stored["error"] = {k: v for k, v in outcome.error.items() if k in STORED_ERROR_FIELDS}
    try:
        app.writer.record_outcome(stored)
    except AppError as error:
        logger.warning("discovery outcome not recorded: %s", error.code)


def _describe_span(app: Services, outcome: DiscoveryOutcome) -> None:
    """The run span's facts: the same counts as the log line (never a message)."""
    failed = outcome.error or {}
    span = current_run()
    span.identify(None, failed.get("request_id"))
    span.facts(
        trigger=outcome.trigger,
        account=app.settings.account,
        deployments=outcome.deployments,
        warnings=len(outcome.warnings),
        upstream_status=failed.get("upstream_status"),
        **{name: getattr(outcome, name) for name in SyncCounts.model_fields},
    )


def _log(app: Services, outcome: DiscoveryOutcome) -> None:
    failed = outcome.error or {}
    logger.log(
        logging.WARNING if failed else logging.INFO,
        "discovery %s (%s): account=%s deployments=%d created=%d updated=%d unchanged=%d "
        "retired=%d unretired=%d warnings=%d error=%s upstream_status=%s request_id=%s "
        "duration_ms=%d",
        outcome.status,
        outcome.trigger,
        app.settings.account,
        outcome.deployments,
        outcome.created,
        outcome.updated,
        outcome.unchanged,
        outcome.retired,
        outcome.unretired,
        len(outcome.warnings),
        failed.get("code"),
        failed.get("upstream_status"),
        failed.get("request_id"),
        outcome.duration_ms,
    )
