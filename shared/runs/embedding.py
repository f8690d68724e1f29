"""The Azure OpenAI Embedding job (docs/design.md §5): `POST /api/embeddings/{deployment}`."""

from __future__ import annotations

from collections.abc import Callable

from shared import constants as c
from shared.models.answers import EmbeddingAnswer
from shared.models.requests import EmbeddingRunRequest, validate_deployment_name
from shared.registry.entity import RunAttributes
from shared.runs.context import RunContext
from shared.runs.inputs import JobSpec, ready_run
from shared.web import Outcome
from shared.wiring import Services

EMBEDDING_JOB = JobSpec(EmbeddingRunRequest, RunAttributes, c.JOB_TYPE_EMBEDDING)


def run_embedding(external_id: str, body: bytes, services: Callable[[], Services]) -> Outcome:
    """Embed one input for the External Id the route named; exactly `{"input"}` goes to Azure."""
    run = RunContext("embedding", validate_deployment_name(external_id))
    with run.failures():
        ready = ready_run(run, body, EMBEDDING_JOB, services)
        app, job = ready.app, ready.job
        embedding, response = app.openai.create_embedding(
            job.deployment, {"input": job.params.input}, ready.deadline
        )
    vector, usage = embedding.data[0].embedding, embedding.usage
    run.telemetry.answered(model=embedding.model, input_tokens=usage.prompt_tokens)
    run.log_success(
        response.status,
        response.request_id,
        response.attempts,
        dimensions=len(vector),
        total_tokens=usage.total_tokens,
    )
    answer = EmbeddingAnswer(
        run_id=run.outcome_run_id("Success"),
        status="Success",
        embedding=vector,
        prompt_tokens=usage.prompt_tokens,
        total_tokens=usage.total_tokens,
        deployment=job.deployment,
        model=embedding.model,
        api=app.openai.api_version,
        request_id=response.request_id,
        monitor_url=app.settings.monitor_url(),
    )
    return Outcome(200, answer)
