"""`GET /api/jobs` (docs/design.md §7): the registry's definitions, optionally of one job type,
as `shared.registry.entity.JobEntity.view` shows them."""

from __future__ import annotations

from collections.abc import Callable

from shared.discovery.classify import PARAMETERS
from shared.errors import InvalidRequest
from shared.models.answers import JobsAnswer
from shared.registry.entity import JobEntity
from shared.web import Outcome
from shared.wiring import Services


def list_jobs(
    job_type: str | None, include_retired: str | None, services: Callable[[], Services]
) -> Outcome:
    problems = []
    if job_type is not None and job_type not in PARAMETERS:
        problems.append(
            ("job_type must be one of: " + ", ".join(PARAMETERS), "job_type", "unknown job type")
        )
    flag = "false" if include_retired is None else include_retired
    if flag not in {"true", "false"}:
        problems.append(
            ("include_retired must be true or false.", "include_retired", "not true or false")
        )
    if problems:
        raise InvalidRequest(
            " ".join(message for message, _, _ in problems),
            details=[{"field": name, "problem": problem} for _, name, problem in problems],
        )
    # the parameters first: a bad one is 400 whatever the app's configuration
    entities = [JobEntity.from_table(dict(e)) for e in services().writer.entities()]
    jobs = [
        entity.view()
        for entity in entities
        if (job_type is None or entity.job_type == job_type)
        and (flag == "true" or not entity.is_retired)
    ]
    jobs.sort(key=lambda job: str(job["external_id"]))
    return Outcome(200, JobsAnswer(count=len(jobs), jobs=jobs))
