"""Choosing the chat model from the environment (no network needed for these)."""

from __future__ import annotations

import pytest

from orchestra.errors import ModelConfigError
from orchestra.models import ModelEndpoint, chat_model, resolve_endpoint
from orchestra.models.resolve import DEFAULT_OPENAI_MODEL


def test_an_openai_key_alone_selects_openai_and_its_default_model() -> None:
    endpoint = resolve_endpoint({"OPENAI_API_KEY": "sk-test"})

    assert endpoint == ModelEndpoint("openai", DEFAULT_OPENAI_MODEL, None, "sk-test")


def test_orchestra_model_names_the_openai_model() -> None:
    endpoint = resolve_endpoint({"OPENAI_API_KEY": "sk-test", "ORCHESTRA_MODEL": "gpt-4.1"})

    assert endpoint.model == "gpt-4.1"


def test_a_base_url_selects_that_server_without_requiring_a_key() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "ORCHESTRA_MODEL": "qwen"}

    endpoint = resolve_endpoint(env)

    assert endpoint.source == "openai-compatible"
    assert (endpoint.base_url, endpoint.model) == ("http://127.0.0.1:9/v1", "qwen")


def test_a_base_url_without_a_model_name_says_to_set_orchestra_model() -> None:
    with pytest.raises(ModelConfigError, match="set ORCHESTRA_MODEL"):
        resolve_endpoint({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})


def test_a_model_name_with_nowhere_to_send_it_says_what_to_set() -> None:
    with pytest.raises(ModelConfigError, match=r"OPENAI_API_KEY.*OPENAI_BASE_URL"):
        resolve_endpoint({"ORCHESTRA_MODEL": "gpt-4.1"})


def test_openai_gets_max_tokens_as_the_standard_parameter() -> None:
    model = chat_model(ModelEndpoint("openai", "gpt-4.1", None, "sk-test"), max_tokens=7)

    assert model.max_tokens == 7
    assert not model.extra_body


@pytest.mark.parametrize("source", ["openai-compatible", "local"])
def test_compatible_servers_get_max_tokens_in_the_request_body(source: str) -> None:
    endpoint = ModelEndpoint(source, "m", "http://127.0.0.1:9/v1", "unused")  # type: ignore[arg-type]

    model = chat_model(endpoint, max_tokens=9, extra_body={"top_k": 5})

    assert model.extra_body == {"top_k": 5, "max_tokens": 9}
    assert model.max_tokens is None
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
