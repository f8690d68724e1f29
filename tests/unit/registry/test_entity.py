"""The registry entity's one schema (`JobEntity`): discovery's owned fields, the reader and the
`/api/jobs` view all derive from it, so none can drift from it; and the job attributes a run
reads from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared import constants as c
from shared import errors
from shared.discovery.classify import PARAMETERS, classify
from shared.errors import InvalidJobDefinition
from shared.families import profile_for_model
from shared.models.answers import BatchOutputs, ChatOutputs, EmbeddingOutputs
from shared.models.azure import ArmDeployment
from shared.registry.entity import (
    DISCOVERY_OWNED,
    OWNED_FIELDS,
    BatchAttributes,
    ChatAttributes,
    JobDefinition,
    JobEntity,
)

SEEN = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# One entity as the table holds it, every property of the schema set (the administrator's
# `Attributes` and `FirstSeenAt` included), plus one property the schema does not know.
STORED = {
    "PartitionKey": "acct",
    "RowKey": "gpt-4o",
    "ExternalId": "gpt-4o",
    "JobType": c.JOB_TYPE_CHAT,
    "Platform": "Azure OpenAI",
    "DeploymentName": "gpt-4o",
    "ModelName": "gpt-4o",
    "ModelVersion": "2024-11-20",
    "ModelFormat": "OpenAI",
    "SkuName": "GlobalStandard",
    "SkuCapacity": 50,
    "ProvisioningState": "Succeeded",
    "Capabilities": json.dumps({"chatCompletion": "true", "maxOutputToken": "16384"}),
    "ModelProfile": json.dumps(profile_for_model("gpt-4o").as_dict()),
    "MonitorUrl": "https://portal.example/x",
    "Parameters": json.dumps(PARAMETERS[c.JOB_TYPE_CHAT]),
    "Attributes": json.dumps({c.ATTR_MAX_TOKENS: "64"}),
    "Retired": False,
    "FirstSeenAt": SEEN,
    "LastSeenAt": SEEN,
    "RetiredAt": None,
    "AdminNote": "kept",
}


def test_every_table_property_is_one_field_and_the_view_shows_each_field():
    entity = JobEntity.from_table(STORED)
    table_names = {str(field.alias) for field in JobEntity.model_fields.values()}
    assert table_names | {"PartitionKey", "ExternalId", "AdminNote"} == set(STORED)
    view = entity.view()
    assert list(view) == list(JobEntity.model_fields)
    assert view["external_id"] == "gpt-4o"
    assert view["parameters"] == PARAMETERS[c.JOB_TYPE_CHAT]
    assert view["attributes"] == {c.ATTR_MAX_TOKENS: "64"}
    assert view["first_seen_at"] == view["last_seen_at"] == "2026-11-30T12:00:00+00:00"
    assert view["retired"] is False and view["sku_capacity"] == 50


def test_discovery_owns_exactly_the_marked_fields():
    assert DISCOVERY_OWNED == {"ExternalId"} | {
        str(JobEntity.model_fields[name].alias) for name in OWNED_FIELDS
    }
    # the administrator's properties are never discovery's
    assert {"Attributes", "FirstSeenAt", "PartitionKey", "RowKey"}.isdisjoint(DISCOVERY_OWNED)


def test_what_discovery_writes_is_what_the_reader_and_the_view_read_back():
    deployment = ArmDeployment.model_validate(
        {
            "name": "gpt-4o",
            "sku": {"name": "GlobalStandard", "capacity": 50},
            "properties": {
                "model": {"name": "gpt-4o", "version": "2024-11-20", "format": "OpenAI"},
                "provisioningState": "Succeeded",
                "capabilities": {"chatCompletion": "true", "maxOutputToken": "16384"},
            },
        }
    )
    jobs, warnings = classify([deployment], "https://portal.example/x")
    assert warnings == []
    chat = next(job for job in jobs if job.external_id == "gpt-4o")
    written = chat.owned_properties()
    assert set(written) <= DISCOVERY_OWNED
    assert {name: STORED[name] for name in written} == written
    stored = {"RowKey": "gpt-4o"} | written
    definition = JobEntity.from_table(stored).definition()
    assert (definition.job_type, definition.deployment_name, definition.model_name) == (
        c.JOB_TYPE_CHAT,
        "gpt-4o",
        "gpt-4o",
    )
    assert JobEntity.from_table(stored).view()["model_version"] == "2024-11-20"


@pytest.mark.parametrize(
    ("job_type", "outputs"),
    [
        (c.JOB_TYPE_CHAT, ChatOutputs),
        (c.JOB_TYPE_EMBEDDING, EmbeddingOutputs),
        (c.JOB_TYPE_BATCH, BatchOutputs),
    ],
)
def test_each_job_types_output_parameters_are_its_answers_outputs(job_type, outputs):
    declared = [p["name"] for p in PARAMETERS[job_type] if p["direction"] == "Output"]
    assert declared == list(outputs.model_fields)


@pytest.mark.parametrize("attributes", ["{not json", "[1, 2]"])
def test_the_reader_refuses_attributes_that_are_not_a_json_object(attributes):
    with pytest.raises(InvalidJobDefinition):
        JobEntity.from_table(STORED | {"Attributes": attributes}).definition()


def attributes(**values: str) -> BatchAttributes:
    entity = {"PartitionKey": "acct", "RowKey": "gpt-4o::batch", "Attributes": json.dumps(values)}
    return JobDefinition.from_entity(entity).attributes_as(BatchAttributes)


def test_a_bad_batch_attribute_is_an_invalid_job_definition():
    with pytest.raises(errors.InvalidJobDefinition) as caught:
        attributes(**{"OpenAI Input File ID": "not-a-file-id"})
    assert "OpenAI Input File ID" in caught.value.message


def _definition(attributes):
    return JobDefinition.from_entity(
        {"PartitionKey": "acct", "RowKey": "gpt-4o", "Attributes": json.dumps(attributes)}
    )


def test_attributes_as_strings_are_read():
    attrs = _definition(
        {
            "OpenAI Max Tokens": "256",
            "OpenAI Temperature": "0.2",
            "OpenAI System Prompt": "Be brief",
        }
    ).attributes_as(ChatAttributes)
    assert (attrs.max_tokens, attrs.temperature, attrs.system_prompt) == (256, 0.2, "Be brief")


def test_blank_attributes_count_as_absent():
    attrs = _definition({"OpenAI Max Tokens": "", "Deployment Name": ""}).attributes_as(
        ChatAttributes
    )
    assert (attrs.max_tokens, attrs.deployment_name) == (None, None)


def test_invalid_attribute_is_a_definition_error_naming_it():
    with pytest.raises(errors.InvalidJobDefinition, match="OpenAI Max Tokens"):
        _definition({"OpenAI Max Tokens": "lots"}).attributes_as(ChatAttributes)


def test_attributes_that_are_not_json_are_a_definition_error():
    with pytest.raises(errors.InvalidJobDefinition):
        JobDefinition.from_entity({"RowKey": "x", "Attributes": "{not json"})


def test_definition_tolerates_missing_properties():
    definition = JobDefinition.from_entity({"PartitionKey": "acct", "RowKey": "hand-made"})
    assert definition.external_id == "hand-made"
    assert definition.attributes == {}
    assert definition.job_type is None


def test_a_definition_without_a_stored_profile_has_none():
    # a hand-made definition, or one from before profiles: the family table must decide
    stored = {k: v for k, v in STORED.items() if k != "ModelProfile"}
    assert JobEntity.from_table(stored).definition().profile is None
    assert JobEntity.from_table(STORED).definition().profile == profile_for_model("gpt-4o")
