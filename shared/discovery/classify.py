"""Classification (pure): the account's deployments in, job definitions out (docs/design.md
§7).

A deployment whose model name contains `embedding` (any case) becomes one Azure OpenAI
Embedding job; any other one an Azure OpenAI Chat Completion job (External Id = deployment
name) and an Azure OpenAI Batch Job (External Id `{name}::batch`). Note that the model name is
the model family (`text-embedding-3-small`) while the deployment name is whatever the user chose.

Each definition also records ARM's capabilities as read and the app's model profile
(`shared.families`), so a run on a discovered deployment calls the model right the first time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from shared import constants as c
from shared.errors import InvalidDeploymentName
from shared.families import profile_for_deployment
from shared.models.answers import BatchOutputs, ChatOutputs, EmbeddingOutputs
from shared.models.azure import ArmDeployment
from shared.models.requests import validate_deployment_name
from shared.registry.entity import PLATFORM, JobEntity


def _param(name: str, direction: str, required: bool, description: str) -> dict[str, Any]:
    return {"name": name, "direction": direction, "required": required, "description": description}


def _outputs(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A job type's output parameters: the fields of its answer's outputs model."""
    return [
        _param(name, "Output", False, field.description or "")
        for name, field in model.model_fields.items()
    ]


# The parameters of each job type, as Polysync defines them: the inputs, then the outputs the
# answers carry (`shared.models.answers`).
PARAMETERS: dict[str, list[dict[str, Any]]] = {
    c.JOB_TYPE_CHAT: [
        _param(
            "system_prompt", "Input", False, "Falls back to the job attribute OpenAI System Prompt."
        ),
        _param("user_prompt", "Input", True, "The user message."),
        *_outputs(ChatOutputs),
    ],
    c.JOB_TYPE_EMBEDDING: [
        _param("input", "Input", True, "The text to embed."),
        *_outputs(EmbeddingOutputs),
    ],
    c.JOB_TYPE_BATCH: _outputs(BatchOutputs),
}


def is_valid_deployment_name(name: str) -> bool:
    try:
        validate_deployment_name(name)
    except InvalidDeploymentName:
        return False
    return True


def is_embedding_model(model_name: str) -> bool:
    return "embedding" in model_name.lower()


def classify(
    deployments: Iterable[ArmDeployment], monitor_url: str | None
) -> tuple[list[JobEntity], list[str]]:
    """The job definitions of these deployments, and warnings for the ones skipped."""
    jobs: list[JobEntity] = []
    warnings: list[str] = []
    for deployment in deployments:
        model = deployment.properties.model
        if not is_valid_deployment_name(deployment.name):
            warnings.append(
                f"Deployment {deployment.name[:80]!r} has a name the registry cannot key; skipped."
            )
            continue
        if not model.name:
            warnings.append(f"Deployment {deployment.name!r} has no model name; it was skipped.")
            continue
        job_types = (
            [c.JOB_TYPE_EMBEDDING]
            if is_embedding_model(model.name)
            else [c.JOB_TYPE_CHAT, c.JOB_TYPE_BATCH]
        )
        capabilities = deployment.properties.capabilities
        profile = profile_for_deployment(model.name, capabilities)
        for job_type in job_types:
            jobs.append(
                JobEntity(
                    external_id=deployment.name
                    + (c.BATCH_SUFFIX if job_type == c.JOB_TYPE_BATCH else ""),
                    job_type=job_type,
                    deployment_name=deployment.name,
                    model_name=model.name,
                    model_version=model.version,
                    model_format=model.format,
                    sku_name=deployment.sku.name if deployment.sku else None,
                    sku_capacity=deployment.capacity,
                    provisioning_state=deployment.properties.provisioningState,
                    monitor_url=monitor_url,
                    platform=PLATFORM,
                    parameters=json.dumps(PARAMETERS[job_type]),
                    capabilities=json.dumps(capabilities) if capabilities else None,
                    model_profile=json.dumps(profile.as_dict()),
                )
            )
    return jobs, warnings
