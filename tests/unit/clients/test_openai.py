"""The Azure OpenAI client: the URLs it calls."""

from shared.clients.openai import AzureOpenAI
from shared.clients.retry import RetryPolicy
from shared.clients.transport import AzureClient, new_session


def test_deployment_is_percent_encoded_in_the_upstream_url():
    client = AzureOpenAI(
        AzureClient(new_session(), dict, RetryPolicy()),
        endpoint="https://acct.openai.azure.com",
        api_version="2024-10-21",
    )
    assert client.deployment_url("a b/c?d#e", "chat/completions") == (
        "https://acct.openai.azure.com/openai/deployments/a%20b%2Fc%3Fd%23e/chat/completions"
        "?api-version=2024-10-21"
    )
