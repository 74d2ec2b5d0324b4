"""Everyday client calls whose answers must be the Hub's: errors, messages, ids and routes.

Each test drives the real huggingface_hub client (or the `hf` CLI) against the live hub and
checks what the client makes of the answer: the exception class, the message people match on,
the value returned.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

from helpers import BIN, client_env, run


@pytest.fixture(scope="module")
def model(api: HfApi) -> str:
    repo_id = api.create_repo("My-Model").repo_id
    api.upload_file(
        path_or_fileobj=b'{"model_type": "bert"}', path_in_repo="config.json", repo_id=repo_id
    )
    return repo_id


# -- item 2: file_exists / HEAD on a repository that does not exist ----------------------------


@pytest.mark.parametrize("repo_id", ["alice/does-not-exist", "nobody/nothing", "single-segment"])
def test_file_exists_on_a_missing_repository(hub, repo_id: str):
    for token in (hub.tokens["alice"], False):
        api = HfApi(endpoint=hub.endpoint, token=token)
        assert api.file_exists(repo_id, "config.json") is False
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(repo_id, "config.json", endpoint=hub.endpoint, token=token)


def test_head_of_a_missing_repository_carries_the_error_headers(endpoint: str):
    for path in (
        "/nobody/nothing/resolve/main/config.json",
        "/single/resolve/main/config.json",
        "/datasets/single/resolve/main/x.csv",
    ):
        response = httpx.head(f"{endpoint}{path}")
        assert response.status_code == 401, path
        assert response.headers["x-error-code"] == "RepoNotFound"
        assert response.headers["x-error-message"] == "Repository not found"


def test_file_exists_on_an_existing_repository(api: HfApi, model: str):
    assert api.file_exists(model, "config.json") is True
    assert api.file_exists(model, "missing.json") is False
    assert api.file_exists(model, "config.json", revision="no-such-branch") is False


# -- item 3: unknown /api routes --------------------------------------------------------------


def test_unknown_api_routes_are_a_plain_404(hub, endpoint: str):
    for path in ("/api/no-such-endpoint", "/api/settings/webhooks-x", "/api/a/b/c"):
        for headers in ({}, {"Authorization": f"Bearer {hub.tokens['alice']}"}):
            response = httpx.get(f"{endpoint}{path}", headers=headers)
            assert response.status_code == 404, (path, response.status_code)
            assert response.json() == {"error": "Not Found"}
            assert response.headers["x-error-message"] == "Not Found"
            assert "x-error-code" not in response.headers  # not a repository error
    assert httpx.patch(f"{endpoint}/api/whoami-v2").status_code == 405


def test_agent_harnesses_answers_what_the_cli_reads(endpoint: str, hub, tmp_path: Path):
    response = httpx.get(f"{endpoint}/api/agent-harnesses")
    assert response.status_code == 200 and response.json() == {
        "standardEnvVars": [],
        "harnesses": {},
    }
    env = client_env(hub, hub.tokens["alice"], tmp_path / "home")
    before = hub.log().count("Repository not found")
    assert "alice" in run([str(BIN / "hf"), "auth", "whoami"], env).stdout
    assert hub.log().count("Repository not found") == before


# -- item 8: messages people and clients match on --------------------------------------------


def test_move_onto_an_existing_repository(api: HfApi, model: str):
    other = api.create_repo("move-source").repo_id
    with pytest.raises(HfHubHTTPError, match=r"A model repository called .* already exists"):
        api.move_repo(from_id=other, to_id=model)


def test_existing_branch_and_default_branch_messages(api: HfApi, model: str):
    api.create_branch(model, branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match=r"Reference refs/heads/cool-branch already exists"):
        api.create_branch(model, branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match=r"Reference refs/heads/main already exists"):
        api.create_branch(model, branch="main")
    api.create_branch(model, branch="cool-branch", exist_ok=True)
    with pytest.raises(HfHubHTTPError, match="Cannot delete refs/heads/main"):
        api.delete_branch(model, branch="main")
    with pytest.raises(HfHubHTTPError, match="Invalid rev id"):
        api.delete_branch(model, branch="no-such-branch")


def test_validate_yaml_lists_errors_as_the_hub(api: HfApi, model: str, monkeypatch):
    from huggingface_hub import ModelCard, constants

    monkeypatch.setattr(
        constants, "ENDPOINT", api.endpoint
    )  # ModelCard.validate reads the global endpoint
    card = ModelCard("---\nlicense: asdf\npipeline_tag: text-generaton\n---\n# Card\n")
    with pytest.raises(
        ValueError, match='- Error: "license" must be one of \\[apache-2.0, mit,'
    ) as raised:
        card.validate()
    assert '- Error: "pipeline_tag" must be one of [text-classification,' in str(raised.value)
    with pytest.raises(
        ValueError, match='Invalid metadata in README.md.\n- Error: "license" must be one of'
    ):
        api.upload_file(
            path_or_fileobj=b"---\nlicense: asdf\n---\n", path_in_repo="README.md", repo_id=model
        )


# -- item 11: repository ids ignore case -----------------------------------------------------


def test_repository_ids_are_matched_without_case(hub, api: HfApi, model: str, tmp_path: Path):
    assert model == "alice/My-Model"
    for spelling in ("alice/my-model", "ALICE/MY-MODEL", "Alice/My-model"):
        info = api.model_info(spelling)
        assert info.id == "alice/My-Model"  # the stored spelling
        assert api.file_exists(spelling, "config.json")
    path = hf_hub_download(
        "alice/my-model",
        "config.json",
        endpoint=hub.endpoint,
        token=hub.tokens["alice"],
        cache_dir=tmp_path,
    )
    assert Path(path).read_bytes() == b'{"model_type": "bert"}'
    assert api.list_repo_files("ALICE/my-MODEL") == api.list_repo_files(model)
    api.upload_file(path_or_fileobj=b"more", path_in_repo="more.txt", repo_id="alice/my-model")
    assert "more.txt" in api.list_repo_files(model)


def test_a_repository_differing_only_in_case_cannot_be_created(api: HfApi, model: str):
    with pytest.raises(HfHubHTTPError) as raised:
        api.create_repo("alice/my-model")
    assert raised.value.response.status_code == 409
    url = api.create_repo("alice/MY-MODEL", exist_ok=True)
    assert url.repo_id == "alice/My-Model"
    created = api.create_repo("Alice/Case-Namespace")  # the account's own spelling is used
    assert created.repo_id == "alice/Case-Namespace"
    assert api.model_info("alice/case-namespace").id == "alice/Case-Namespace"


def test_a_change_of_case_is_a_rename(api: HfApi):
    repo_id = api.create_repo("case-rename").repo_id
    api.move_repo(from_id=repo_id, to_id="alice/Case-Rename")
    assert api.model_info("alice/case-rename").id == "alice/Case-Rename"
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/case-rename-nope")


def test_git_clone_ignores_case(hub, model: str, tmp_path: Path):
    import subprocess

    target = tmp_path / "clone"
    result = subprocess.run(
        [
            "git",
            "clone",
            f"http://alice:{hub.tokens['alice']}@127.0.0.1:{hub.port}/ALICE/my-model",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "GIT_TERMINAL_PROMPT": "0",
            "PATH": "/usr/bin:/bin",
            "GIT_LFS_SKIP_SMUDGE": "1",
            "HOME": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    assert (target / "config.json").read_bytes() == b'{"model_type": "bert"}'


def test_revision_errors_are_revision_not_found(api: HfApi, model: str):
    with pytest.raises(RevisionNotFoundError):
        api.model_info(model, revision="no-such-branch")
