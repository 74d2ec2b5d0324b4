"""Private repositories, organizations, tokens, renames and deletions, through the real client."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError


@pytest.fixture(scope="module")
def bob(hub, endpoint) -> HfApi:
    return HfApi(endpoint=endpoint, token=hub.tokens["bob"])


@pytest.fixture(scope="module")
def anonymous(endpoint) -> HfApi:
    return HfApi(endpoint=endpoint, token=False)


@pytest.fixture(scope="module")
def private_repo(api: HfApi) -> str:
    repo_id = api.create_repo("secret", private=True).repo_id
    api.upload_file(path_or_fileobj=b"classified", path_in_repo="secret.txt", repo_id=repo_id)
    return repo_id


def test_whoami(api: HfApi, hub):
    me = api.whoami()
    assert me["name"] == "alice" and me["type"] == "user"
    assert [o["name"] for o in me["orgs"]] == ["acme"]
    assert me["auth"]["accessToken"]["role"] == "write"
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=hub.endpoint, token="hf_not_a_real_token").whoami()


def test_private_repo_is_visible_to_its_owner(api: HfApi, private_repo: str):
    info = api.model_info(private_repo)
    assert info.private is True
    assert api.list_repo_files(private_repo) == [".gitattributes", "secret.txt"]
    assert private_repo in [m.id for m in api.list_models(author="alice")]


@pytest.mark.parametrize("who", ["bob", "anonymous"])
def test_private_repo_is_invisible_to_others(
    request, who: str, private_repo: str, endpoint: str, hf_home: Path
):
    client: HfApi = request.getfixturevalue(who)
    with pytest.raises(RepositoryNotFoundError):
        client.model_info(private_repo)
    with pytest.raises(RepositoryNotFoundError):
        client.list_repo_files(private_repo)
    with pytest.raises(RepositoryNotFoundError):
        client.list_repo_refs(private_repo)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(
            private_repo, "secret.txt", endpoint=endpoint, cache_dir=hf_home, token=client.token
        )
    assert not client.repo_exists(private_repo)
    assert private_repo not in [m.id for m in client.list_models(author="alice")]


def test_private_and_missing_repos_answer_identically(private_repo: str, endpoint: str, hub):
    """Existence does not leak: same status, code and message for a private and a missing repo."""
    for headers, status in (({}, 401), ({"Authorization": f"Bearer {hub.tokens['bob']}"}, 404)):
        for path in ("/api/models/{}", "/api/models/{}/tree/main", "/{}/resolve/main/secret.txt"):
            hidden = httpx.get(endpoint + path.format(private_repo), headers=headers)
            missing = httpx.get(endpoint + path.format("alice/does-not-exist"), headers=headers)
            assert hidden.status_code == missing.status_code == status
            assert (
                hidden.headers["x-error-code"] == missing.headers["x-error-code"] == "RepoNotFound"
            )
            assert hidden.json() == missing.json()


def test_toggle_visibility_and_gating(api: HfApi, bob: HfApi):
    repo_id = api.create_repo("toggle").repo_id
    assert bob.model_info(repo_id).private is False
    api.update_repo_settings(repo_id, private=True)
    with pytest.raises(RepositoryNotFoundError):
        bob.model_info(repo_id)
    api.update_repo_settings(repo_id, private=False, gated="manual")
    info = api.model_info(repo_id, expand=["private", "gated"])
    assert info.private is False and info.gated == "manual"
    with pytest.raises(HfHubHTTPError) as error:
        bob.update_repo_settings(repo_id, private=True)
    assert error.value.response.status_code == 403


def test_org_repos_follow_membership_roles(api: HfApi, bob: HfApi):
    repo_id = api.create_repo("acme/team-model", private=True).repo_id
    assert bob.model_info(repo_id).id == "acme/team-model"  # read member sees private org repos
    with pytest.raises(HfHubHTTPError) as error:
        bob.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
    assert error.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as error:
        bob.create_repo("acme/bobs-model")
    assert error.value.response.status_code == 403


def test_read_token_cannot_write(hub, api: HfApi):
    repo_id = api.create_repo("read-token").repo_id
    head = api.model_info(repo_id).sha
    reader = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice_read"])
    assert reader.model_info(repo_id).sha == head
    with pytest.raises(HfHubHTTPError) as error:
        reader.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
    assert error.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as error:
        reader.create_repo("from-read-token")
    assert error.value.response.status_code == 403
    assert api.model_info(repo_id).sha == head


def test_move_repo_keeps_old_urls_working(api: HfApi, endpoint: str, hf_home: Path):
    repo_id = api.create_repo("old-name").repo_id
    api.upload_file(path_or_fileobj=b"moved content", path_in_repo="file.txt", repo_id=repo_id)
    api.move_repo(repo_id, "acme/new-name")
    assert api.model_info("acme/new-name").id == "acme/new-name"
    path = hf_hub_download(
        "alice/old-name", "file.txt", endpoint=endpoint, cache_dir=hf_home, token=api.token
    )
    assert Path(path).read_text() == "moved content"
    response = httpx.get(
        f"{endpoint}/alice/old-name/resolve/main/file.txt",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert (
        response.status_code == 307
        and response.headers["location"] == "/acme/new-name/resolve/main/file.txt"
    )
    api.create_repo("old-name")  # the old name can be taken again, and then no longer redirects
    assert api.list_repo_files("alice/old-name") == [".gitattributes"]


def test_delete_repo(api: HfApi):
    repo_id = api.create_repo("doomed").repo_id
    api.upload_file(path_or_fileobj=b"bye", path_in_repo="bye.txt", repo_id=repo_id)
    api.delete_repo(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo(repo_id)
    api.delete_repo(repo_id, missing_ok=True)
    assert api.create_repo("doomed").repo_id == repo_id
    assert api.list_repo_files(repo_id) == [".gitattributes"]


def test_datasets_live_beside_models(api: HfApi, endpoint: str, hf_home: Path):
    repo_id = api.create_repo("files-model-twin", repo_type="dataset").repo_id
    api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data.csv", repo_id=repo_id, repo_type="dataset"
    )
    assert api.dataset_info(repo_id).id == repo_id
    path = hf_hub_download(
        repo_id, "data.csv", repo_type="dataset", endpoint=endpoint, cache_dir=hf_home
    )
    assert Path(path).read_text() == "a,b\n1,2\n"
    assert [d.id for d in api.list_datasets(author="alice")] == [repo_id]
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(repo_id)


def test_list_models_paginates_with_absolute_links(api: HfApi, hub, endpoint):
    admin = HfApi(endpoint=endpoint, token=hub.tokens["admin"])
    for i in range(3):
        admin.create_repo(f"listed-{i}")
    ids = [m.id for m in admin.list_models(author="admin", sort="createdAt")]
    assert ids == ["admin/listed-2", "admin/listed-1", "admin/listed-0"]
    assert [m.id for m in admin.list_models(search="listed-1")] == ["admin/listed-1"]


def test_expand_returns_only_what_was_asked(api: HfApi, endpoint: str):
    repo_id = api.create_repo("expand-me").repo_id
    info = httpx.get(f"{endpoint}/api/models/{repo_id}?expand=sha&expand=lastModified").json()
    assert set(info) == {"_id", "id", "sha", "lastModified"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", info["lastModified"])
    bad = httpx.get(f"{endpoint}/api/models/{repo_id}?expand=nonsense")
    assert bad.status_code == 400 and bad.json()["error"].startswith('"expand" must be one of [')
    blobs = api.model_info(repo_id, files_metadata=True)
    assert (
        blobs.siblings[0].rfilename == ".gitattributes"
        and blobs.siblings[0].size > 0
        and blobs.siblings[0].blob_id
    )
