"""The API's OpenAPI description (`/openapi.json`, issue 14), and schemathesis against it: a
bounded number of generated requests per operation, as anonymous and as a signed-in user, must
never get a 5xx. A live server of its own (the generated requests create and delete things)."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES = 6  # per operation and identity: bounded, so the suite stays fast


def test_the_description_is_valid_openapi_and_covers_the_api(endpoint):
    answer = httpx.get(f"{endpoint}/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    for path, method in [
        ("/api/repos/create", "post"),
        ("/api/{rtype}/{ns}/{name}", "get"),
        ("/api/{rtype}/{ns}/{name}/revision/{rev}", "get"),
        ("/api/{rtype}/{ns}/{name}/preupload/{rev}", "post"),
        ("/api/{rtype}/{ns}/{name}/discussions/{num}/status", "post"),
        ("/api/whoami-v2", "get"),
    ]:
        assert method in paths[path], (path, method)
    create = paths["/api/repos/create"]["post"]["requestBody"]["content"]["application/json"]
    schema = document["components"]["schemas"][create["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert "name" in schema["properties"]
    assert not [p for p in paths if "(" in p or "?" in p]  # no regex leaks into a path


GENERATED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _server_errors(endpoint: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Run EXAMPLES generated requests of every operation; (requests sent, the 5xx answers)."""
    schema = schemathesis.openapi.from_url(f"{endpoint}/openapi.json")
    sent, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @GENERATED
        def run(case) -> None:
            nonlocal sent
            response = case.call(headers=headers, timeout=60)
            sent += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{case.as_curl_command(headers=headers)[:400]} {response.text[:200]}"
                )

        run()
    return sent, failures


@pytest.mark.parametrize("who", [None, "alice"], ids=["anonymous", "alice"])
def test_generated_requests_never_get_a_server_error(hub, endpoint, who):
    headers = {"Authorization": f"Bearer {hub.tokens[who]}"} if who else {}
    sent, failures = _server_errors(endpoint, headers)
    assert sent >= 200  # every operation was exercised, within the bound
    assert not failures, "\n".join(failures[:20])
