"""Classification (pure): the account's deployments in, job definitions out (design §7).

A deployment whose model name contains `embedding` (any case) becomes one Azure OpenAI
Embedding job; any other one an Azure OpenAI Chat Completion job (External Id = deployment
name) and an Azure OpenAI Batch Job (External Id `{name}::batch`). Note that the model name is
the model family (`text-embedding-3-small`) while the deployment name is whatever the user chose.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared import constants as c
from shared.errors import InvalidDeploymentName
from shared.models import ArmDeployment, validate_deployment_name

PLATFORM = "Azure OpenAI"


def _param(name: str, direction: str, required: bool, description: str) -> dict[str, Any]:
    return {"name": name, "direction": direction, "required": required, "description": description}


# The parameters of each job type, as Polysync defines them.
PARAMETERS: dict[str, list[dict[str, Any]]] = {
    c.JOB_TYPE_CHAT: [
        _param(
            "system_prompt", "Input", False, "Falls back to the job attribute OpenAI System Prompt."
        ),
        _param("user_prompt", "Input", True, "The user message."),
        _param("response", "Output", False, "choices[0].message.content"),
        _param("prompt_tokens", "Output", False, "usage.prompt_tokens"),
        _param("completion_tokens", "Output", False, "usage.completion_tokens"),
        _param("total_tokens", "Output", False, "usage.total_tokens"),
        _param("finish_reason", "Output", False, "choices[0].finish_reason"),
    ],
    c.JOB_TYPE_EMBEDDING: [
        _param("input", "Input", True, "The text to embed."),
        _param("embedding", "Output", False, "data[0].embedding"),
        _param("prompt_tokens", "Output", False, "usage.prompt_tokens"),
        _param("total_tokens", "Output", False, "usage.total_tokens"),
    ],
    c.JOB_TYPE_BATCH: [
        _param("output_file_id", "Output", False, "The batch's output file."),
        _param("error_file_id", "Output", False, "The batch's error file."),
        _param("request_counts_total", "Output", False, "request_counts.total"),
        _param("request_counts_completed", "Output", False, "request_counts.completed"),
        _param("request_counts_failed", "Output", False, "request_counts.failed"),
    ],
}


@dataclass(frozen=True)
class DiscoveredJob:
    """The discovery-owned properties of one registry entity."""

    external_id: str
    job_type: str
    deployment_name: str
    model_name: str
    model_version: str | None
    model_format: str | None
    sku_name: str | None
    sku_capacity: int | None
    provisioning_state: str | None
    monitor_url: str | None

    def properties(self) -> dict[str, Any]:
        """Entity properties, exactly as design §7 names them (None values left out)."""
        values = {
            "ExternalId": self.external_id,
            "JobType": self.job_type,
            "Platform": PLATFORM,
            "DeploymentName": self.deployment_name,
            "ModelName": self.model_name,
            "ModelVersion": self.model_version,
            "ModelFormat": self.model_format,
            "SkuName": self.sku_name,
            "SkuCapacity": self.sku_capacity,
            "ProvisioningState": self.provisioning_state,
            "MonitorUrl": self.monitor_url,
            "Parameters": json.dumps(PARAMETERS[self.job_type]),
        }
        return {name: value for name, value in values.items() if value is not None}


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
) -> tuple[list[DiscoveredJob], list[str]]:
    """The job definitions of these deployments, and warnings for the ones skipped."""
    jobs: list[DiscoveredJob] = []
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
        for job_type in job_types:
            jobs.append(
                DiscoveredJob(
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
                )
            )
    return jobs, warnings
