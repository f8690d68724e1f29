"""Each simulated embedding model answers its real vector length, and `dimensions` as Azure
does: text-embedding-3 models shorten the vector, ada-002 refuses the parameter."""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import pytest
import requests

from local.simulator import Deployment, Simulator
from tests.simulator.helpers import openai_error

API_VERSION = "2024-10-21"
MODELS = {  # deployment name = model name
    "text-embedding-ada-002": 1536,
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
}
NO_DIMENSIONS = "This model does not support specifying dimensions."


@pytest.fixture
def embedding_sim(sim: Simulator) -> Simulator:
    sim.set_deployments(Deployment(model, model) for model in MODELS)
    return sim


def embed(sim: Simulator, session: requests.Session, model: str, **body: Any) -> requests.Response:
    return session.post(
        f"{sim.url}/openai/deployments/{model}/embeddings",
        params={"api-version": API_VERSION},
        headers={"api-key": sim.api_key},
        json={"input": "The quick brown fox", **body},
        timeout=5,
    )


def vector(response: requests.Response) -> list[float]:
    assert response.status_code == 200, response.text
    data: list[float] = response.json()["data"][0]["embedding"]
    return data


@pytest.mark.parametrize(("model", "length"), MODELS.items())
def test_each_model_answers_its_own_length(
    embedding_sim: Simulator, session: requests.Session, model: str, length: int
) -> None:
    full = vector(embed(embedding_sim, session, model))
    assert len(full) == length
    assert math.isclose(sum(value * value for value in full), 1.0, abs_tol=1e-5)


def test_deployments_take_the_models_length() -> None:
    assert [Deployment(model, model).dimensions for model in MODELS] == list(MODELS.values())
    assert Deployment("large", "text-embedding-3-large", dimensions=3072).dimensions == 3072
    assert Deployment("custom", "my-embedding-model").dimensions == 1536
    assert Deployment("custom", "my-embedding-model", dimensions=768).dimensions == 768
    with pytest.raises(ValueError, match="text-embedding-3-large has 3072 dimensions"):
        Deployment("large", "text-embedding-3-large", dimensions=1536)
    with pytest.raises(ValueError, match="dimensions >= 1"):
        Deployment("custom", "my-embedding-model", dimensions=0)


def test_the_control_api_shows_the_models_length(sim: Simulator, session: requests.Session) -> None:
    put = session.put(
        sim.url + "/_sim/deployments", json=[{"name": "big", "model": "text-embedding-3-large"}]
    )
    assert put.status_code == 200, put.text
    assert put.json()[0]["dimensions"] == 3072
    refused = session.put(
        sim.url + "/_sim/deployments",
        json=[{"name": "big", "model": "text-embedding-3-large", "dimensions": 1536}],
    )
    assert refused.status_code == 400
    assert "text-embedding-3-large has 3072 dimensions" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("model", "dimensions"),
    [
        ("text-embedding-3-large", 256),
        ("text-embedding-3-large", 1024),
        ("text-embedding-3-large", 3072),
        ("text-embedding-3-small", 1),
        ("text-embedding-3-small", 512),
        ("text-embedding-3-small", 1536),
    ],
)
def test_text_embedding_3_shortens_to_the_requested_dimensions(
    embedding_sim: Simulator, session: requests.Session, model: str, dimensions: int
) -> None:
    full = vector(embed(embedding_sim, session, model))
    short = vector(embed(embedding_sim, session, model, dimensions=dimensions))

    assert len(short) == dimensions
    # The shortened vector is the full one's prefix, renormalised to unit length.
    norm = math.sqrt(sum(value * value for value in full[:dimensions]))
    assert short == pytest.approx([value / norm for value in full[:dimensions]], abs=1e-7)


def test_dimensions_are_honoured_in_base64_too(
    embedding_sim: Simulator, session: requests.Session
) -> None:
    response = embed(
        embedding_sim, session, "text-embedding-3-large", dimensions=256, encoding_format="base64"
    )
    assert response.status_code == 200, response.text
    packed = base64.b64decode(response.json()["data"][0]["embedding"])
    assert len(struct.unpack(f"<{len(packed) // 4}f", packed)) == 256


@pytest.mark.parametrize(
    ("model", "dimensions", "message"),
    [
        (
            "text-embedding-3-large",
            3073,
            "Invalid 'dimensions': integer above maximum value. Expected a value <= 3072, "
            "but got 3073 instead.",
        ),
        (
            "text-embedding-3-small",
            1537,
            "Invalid 'dimensions': integer above maximum value. Expected a value <= 1536, "
            "but got 1537 instead.",
        ),
        (
            "text-embedding-3-large",
            0,
            "Invalid 'dimensions': integer below minimum value. Expected a value >= 1, "
            "but got 0 instead.",
        ),
        (
            "text-embedding-3-small",
            -5,
            "Invalid 'dimensions': integer below minimum value. Expected a value >= 1, "
            "but got -5 instead.",
        ),
        (
            "text-embedding-3-large",
            "256",
            "Invalid type for 'dimensions': expected an integer, but got a string instead.",
        ),
        (
            "text-embedding-3-large",
            256.0,
            "Invalid type for 'dimensions': expected an integer, but got a decimal instead.",
        ),
        (
            "text-embedding-3-small",
            True,
            "Invalid type for 'dimensions': expected an integer, but got a boolean instead.",
        ),
    ],
)
def test_invalid_dimensions_are_400_naming_dimensions(
    embedding_sim: Simulator,
    session: requests.Session,
    model: str,
    dimensions: object,
    message: str,
) -> None:
    response = embed(embedding_sim, session, model, dimensions=dimensions)
    assert response.status_code == 400
    assert response.json() == openai_error(message, "dimensions")


@pytest.mark.parametrize("dimensions", [1536, 256])
def test_ada_002_refuses_dimensions(
    embedding_sim: Simulator, session: requests.Session, dimensions: int
) -> None:
    response = embed(embedding_sim, session, "text-embedding-ada-002", dimensions=dimensions)
    assert response.status_code == 400
    assert response.json() == openai_error(NO_DIMENSIONS, None)
    assert response.headers["apim-request-id"]


def test_ada_002_without_dimensions_answers_in_full(
    embedding_sim: Simulator, session: requests.Session
) -> None:
    # A null `dimensions` is the parameter left out, as for the other optional numbers.
    assert len(vector(embed(embedding_sim, session, "text-embedding-ada-002"))) == 1536
    nulled = embed(embedding_sim, session, "text-embedding-ada-002", dimensions=None)
    assert len(vector(nulled)) == 1536
