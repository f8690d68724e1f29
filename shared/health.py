"""`GET /api/health` and `GET /api/health/details` (docs/design.md §2).

The anonymous check answers `ok` or `not_configured` from the settings alone: no storage or Azure
call, nothing about the deployment. The details (function key) add the configuration and the last
discovery's outcome, read through a short in-process cache with a short timeout. No secret in
either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.errors import AppError, NotConfigured
from shared.models.answers import HealthAnswer, HealthDetailsAnswer, HealthProblemAnswer
from shared.settings import Settings
from shared.web import Outcome


def health(settings: Settings | None) -> Outcome:
    configured = settings is not None and not settings.missing()
    return Outcome(200, HealthAnswer(status="ok" if configured else "not_configured"))


def health_details(
    settings: Settings | None,
    problem: NotConfigured | None,
    last_discovery: Callable[[], dict[str, Any] | None],
) -> Outcome:
    if settings is None:
        reported = problem.error_object() if problem else None
        return Outcome(200, HealthProblemAnswer(problem=reported))
    missing = settings.missing()
    answer = HealthDetailsAnswer(
        status="ok" if not missing else "not_configured",
        account=settings.account,
        auth=settings.auth,
        api_version=settings.api_version,
        job_definitions_table=settings.job_definitions_table,
        missing_settings=missing,
        last_discovery=None,
    )
    try:
        answer.last_discovery = last_discovery()
    except AppError as error:
        cause = error.__cause__ or error
        answer.registry = f"unavailable ({type(cause).__name__})"
    return Outcome(200, answer)
