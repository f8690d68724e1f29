"""`GET /api/health` (docs/design.md §2): what an operator needs to see at a glance,
configuration and the last discovery's outcome. No secret, and no call to Azure (one registry
read for the outcome)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.errors import AppError, NotConfigured
from shared.models.answers import HealthAnswer, HealthProblemAnswer
from shared.settings import Settings
from shared.web import Outcome


def health_report(
    settings: Settings | None,
    problem: NotConfigured | None,
    last_discovery: Callable[[], dict[str, Any] | None],
) -> Outcome:
    if settings is None:
        return Outcome(
            200, HealthProblemAnswer(problem=problem.error_object() if problem else None)
        )
    missing = settings.missing()
    answer = HealthAnswer(
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
