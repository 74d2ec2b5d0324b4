"""Gated repositories through the real client, git and plain HTTP: who may download, and the
access requests (ask, accept, reject, cancel, grant, withdraw) that decide it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError

from hubstead.domain.errors import BadRequest
from hubstead.domain.gating import check_answers
from hubstead.services.accounts import AccountService
from hubstead.storage.database import Database

CARD = """---
license: mit
extra_gated_prompt: You agree to use this model for research only.
extra_gated_fields:
  Company: text
  Use case:
    type: select
    options: [Research, Education]
  I agree to the license: checkbox
---
# Gated model
"""
PLAIN_CARD = "---\nlicense: mit\n---\n# No access form\n"
ANSWERS = {"Company": "Carol Labs", "Use case": "Research", "I agree to the license": True}
CONFIG = b'{"model_type": "bert"}'
WEIGHTS = os.urandom(200_000)


@pytest.fixture(scope="module")
def tokens(hub) -> dict[str, str]:
    """The seeded tokens plus outsiders with no tie to alice or acme: carol and dave."""
    db = Database(hub.database_url)
    accounts = AccountService(db)
    for name in ("carol", "dave"):
        accounts.create_user(name, email=f"{name}@example.com")
    extra = {
        "carol": accounts.create_token("carol", "write", "carol-write"),
        "carol_read": accounts.create_token("carol", "read", "carol-read"),
        "dave": accounts.create_token("dave", "write", "dave-write"),
    }
    db.dispose()
    return {**hub.tokens, **extra}


@pytest.fixture(scope="module")
def as_user(endpoint, tokens):
    def client(who: str | None) -> HfApi:
        return HfApi(endpoint=endpoint, token=tokens[who] if who else False)

    return client


def make_gated(api: HfApi, name: str, mode: str, card: str = CARD, repo_type: str = "model") -> str:
    repo_id = api.create_repo(name, repo_type=repo_type).repo_id
    for path, data in (
        ("README.md", card.encode()),
        ("LICENSE", b"MIT License\n"),
        ("config.json", CONFIG),
        ("model.safetensors", WEIGHTS),
    ):
        api.upload_file(
            path_or_fileobj=data, path_in_repo=path, repo_id=repo_id, repo_type=repo_type
        )
    api.update_repo_settings(repo_id, gated=mode, repo_type=repo_type)
    return repo_id


def download(
    client: HfApi, repo_id: str, filename: str, cache: Path, repo_type: str = "model"
) -> bytes:
    path = hf_hub_download(
        repo_id,
        filename,
        repo_type=repo_type,
        endpoint=client.endpoint,
        token=client.token,
        cache_dir=cache,
    )
    return Path(path).read_bytes()


def refused(
    client: HfApi, repo_id: str, cache: Path, filename: str = "config.json"
) -> GatedRepoError:
    with pytest.raises(GatedRepoError) as error:
        download(client, repo_id, filename, cache)
    return error.value


def ask(
    endpoint: str, token: str, repo_id: str, answers: dict | None = None, prefix: str = ""
) -> httpx.Response:
    return httpx.post(
        f"{endpoint}/{prefix}{repo_id}/ask-access",
        json=answers or {},
        headers={"Authorization": f"Bearer {token}"},
    )


def users(requests) -> list[str]:
    return [request.username for request in requests]


# -- the access form (plain rules) --------------------------------------------------------------


def test_access_form_answers_follow_the_card():
    card = {
        "extra_gated_fields": [
            {"Name": "text"},
            {"Where": "ip_location"},
            {
                "Use": {
                    "type": "select",
                    "options": ["Research", {"label": "Other", "value": "other"}],
                }
            },
            {"Agree": "checkbox"},
        ]
    }
    kept = check_answers(
        card, {"Name": " Carol ", "Use": "other", "Agree": "on", "Unasked": "dropped"}
    )
    assert kept == {
        "Name": "Carol",
        "Use": "other",
        "Agree": "true",
    }  # location is the hub's to fill
    for answers, words in (
        ({"Use": "other", "Agree": True}, "answer 'Name'"),
        ({"Name": "C", "Use": "Other", "Agree": True}, "'Use' must be one of: Research, other"),
        ({"Name": "C", "Use": "other", "Agree": "no"}, "tick 'Agree'"),
        ([], "must be an object"),
    ):
        with pytest.raises(BadRequest, match=words):
            check_answers(card, answers)
    assert check_answers({"license": "mit"}, None) == {}


# -- the gate ---------------------------------------------------------------------------------


def test_outsiders_and_anonymous_callers_are_refused(api, as_user, endpoint, tmp_path):
    repo_id = make_gated(api, "refusals", "auto")
    carol = refused(as_user("carol"), repo_id, tmp_path / "carol")
    assert carol.response.status_code == 403
    assert (
        f"Access to model {repo_id} is restricted and you are not in the authorized list. "
        f"Visit {endpoint}/{repo_id} to ask for access."
    ) in str(carol)
    anonymous = refused(as_user(None), repo_id, tmp_path / "anonymous")
    assert anonymous.response.status_code == 401
    assert (
        f"Access to model {repo_id} is restricted. You must have access to it and be authenticated "
        "to access it. Please log in."
    ) in str(anonymous)
    # Plain HTTP sees the same codes, on HEAD and GET, before the file is even looked up.
    for method in ("HEAD", "GET"):
        for path in ("model.safetensors", "no-such-file.bin", ".gitattributes"):
            answer = httpx.request(
                method,
                f"{endpoint}/{repo_id}/resolve/main/{path}",
                headers={"Authorization": f"Bearer {as_user('carol').token}"},
            )
            assert (answer.status_code, answer.headers["x-error-code"]) == (403, "GatedRepo")


def test_gated_repository_stays_visible(api, as_user, tmp_path):
    repo_id = make_gated(api, "visible", "manual")
    for who in ("carol", None):
        client = as_user(who)
        info = client.model_info(repo_id, expand=["gated", "cardData"])
        assert info.gated == "manual"
        assert (
            info.card_data["extra_gated_prompt"] == "You agree to use this model for research only."
        )
        assert sorted(client.list_repo_files(repo_id)) == [
            ".gitattributes",
            "LICENSE",
            "README.md",
            "config.json",
            "model.safetensors",
        ]
        # The card and the license are readable before agreeing to them; nothing else is.
        assert download(client, repo_id, "README.md", tmp_path / str(who)) == CARD.encode()
        assert download(client, repo_id, "LICENSE", tmp_path / str(who)) == b"MIT License\n"
        with pytest.raises(GatedRepoError):
            client.auth_check(repo_id)
    base = f"{api.endpoint}/{repo_id}/resolve/main"
    assert (
        httpx.get(f"{base}/LICENSE.txt").headers["x-error-code"] == "EntryNotFound"
    )  # public name, no file
    for path in ("readme.md", "docs/README.md", "LICENSE.rst"):
        assert (
            httpx.get(f"{base}/{path}").headers["x-error-code"] == "GatedRepo"
        )  # exact root names only
    api.auth_check(repo_id)  # the owner has access


def test_namespace_members_and_admins_always_download(api, as_user, tmp_path):
    own = make_gated(api, "members-own", "manual")
    team = make_gated(api, "acme/members-team", "manual")
    assert download(as_user("alice_read"), own, "config.json", tmp_path / "alice-read") == CONFIG
    assert (
        download(as_user("bob"), team, "model.safetensors", tmp_path / "bob") == WEIGHTS
    )  # acme read member
    assert download(as_user("admin"), own, "model.safetensors", tmp_path / "admin") == WEIGHTS
    as_user("bob").auth_check(team)
    with pytest.raises(GatedRepoError):
        as_user("bob").auth_check(own)  # bob is nobody in alice's namespace


def test_auto_approval_gives_access_at_once(api, as_user, endpoint, tokens, tmp_path):
    repo_id = make_gated(api, "auto", "auto")
    answer = ask(endpoint, tokens["carol"], repo_id, ANSWERS)
    assert answer.status_code == 303 and answer.headers["location"] == f"{endpoint}/{repo_id}"
    assert download(as_user("carol_read"), repo_id, "model.safetensors", tmp_path) == WEIGHTS
    as_user("carol").auth_check(repo_id)
    [request] = api.list_accepted_access_requests(repo_id)
    assert (request.username, request.email, request.status) == (
        "carol",
        "carol@example.com",
        "accepted",
    )
    assert request.fields == {
        "Company": "Carol Labs",
        "Use case": "Research",
        "I agree to the license": "true",
    }
    assert list(api.list_pending_access_requests(repo_id)) == []


def test_manual_approval_lifecycle(api, as_user, endpoint, tokens, tmp_path):
    repo_id = make_gated(api, "manual", "manual")
    carol = as_user("carol")
    incomplete = ask(
        endpoint, tokens["carol"], repo_id, {**ANSWERS, "I agree to the license": False}
    )
    assert incomplete.status_code == 400 and "I agree to the license" in incomplete.json()["error"]
    assert (
        ask(endpoint, tokens["carol"], repo_id, {**ANSWERS, "Use case": "Profit"}).status_code
        == 400
    )
    assert ask(endpoint, tokens["carol_read"], repo_id, ANSWERS).status_code == 403
    assert ask(endpoint, tokens["carol"], repo_id, ANSWERS).status_code == 303

    [pending] = api.list_pending_access_requests(repo_id)
    assert (pending.username, pending.status, pending.fields["Company"]) == (
        "carol",
        "pending",
        "Carol Labs",
    )
    assert "is awaiting a review from the repo authors" in str(
        refused(carol, repo_id, tmp_path / "1")
    )

    api.accept_access_request(repo_id, "carol")
    assert download(carol, repo_id, "config.json", tmp_path / "2") == CONFIG
    with pytest.raises(HfHubHTTPError) as again:
        api.accept_access_request(repo_id, "carol")
    assert again.value.response.status_code == 404 and "already accepted" in str(again.value)

    api.cancel_access_request(repo_id, "carol")  # back to pending: access is lost
    assert users(api.list_pending_access_requests(repo_id)) == ["carol"]
    refused(carol, repo_id, tmp_path / "3")

    api.reject_access_request(repo_id, "carol", rejection_reason="Not a research use")
    assert users(api.list_rejected_access_requests(repo_id)) == ["carol"]
    assert "has been rejected by the repo's authors" in str(refused(carol, repo_id, tmp_path / "4"))
    # A rejected user can neither ask again nor clear the rejection.
    assert ask(endpoint, tokens["carol"], repo_id, ANSWERS).status_code == 303
    assert users(api.list_rejected_access_requests(repo_id)) == ["carol"]
    withdrawn = httpx.post(
        f"{endpoint}/api/models/{repo_id}/user-access-request/cancel",
        headers={"Authorization": f"Bearer {tokens['carol']}"},
    )
    assert withdrawn.status_code == 404

    [rejected] = api.list_rejected_access_requests(repo_id)
    api.accept_access_request(repo_id, request_id=rejected.request_id)
    assert download(carol, repo_id, "model.safetensors", tmp_path / "5") == WEIGHTS


def test_requester_withdraws_a_pending_request(api, endpoint, tokens):
    repo_id = make_gated(api, "withdraw", "manual")
    assert ask(endpoint, tokens["dave"], repo_id, ANSWERS).status_code == 303
    headers = {"Authorization": f"Bearer {tokens['dave']}"}
    withdrawn = httpx.post(
        f"{endpoint}/api/models/{repo_id}/user-access-request/cancel", headers=headers
    )
    assert (withdrawn.status_code, withdrawn.json()) == (200, {"ok": True})
    assert list(api.list_pending_access_requests(repo_id)) == []
    again = httpx.post(
        f"{endpoint}/api/models/{repo_id}/user-access-request/cancel", headers=headers
    )
    assert again.status_code == 404
    assert (
        httpx.post(f"{endpoint}/api/models/{repo_id}/user-access-request/cancel").status_code == 401
    )


def test_grant_access_and_its_errors(api, as_user, tmp_path):
    repo_id = make_gated(api, "grant", "manual")
    api.grant_access(repo_id, "dave")
    [granted] = api.list_accepted_access_requests(repo_id)
    assert (granted.username, granted.email, granted.fields) == (
        "dave",
        None,
        None,
    )  # no email: never asked
    assert download(as_user("dave"), repo_id, "config.json", tmp_path) == CONFIG
    for call, status, words in (
        (lambda: api.grant_access(repo_id, "dave"), 400, "already has access"),
        (lambda: api.grant_access(repo_id, "nobody"), 404, "User 'nobody' not found"),
        (
            lambda: api.accept_access_request(repo_id, "carol"),
            404,
            "carol has not requested access",
        ),
        (
            lambda: api.reject_access_request(repo_id, "dave", rejection_reason="x" * 201),
            400,
            "at most 200",
        ),
    ):
        with pytest.raises(HfHubHTTPError) as error:
            call()
        assert error.value.response.status_code == status and words in str(error.value)


def test_only_writers_review_requests(api, as_user):
    own = make_gated(api, "reviewers", "manual")
    team = make_gated(api, "acme/reviewers-team", "manual")
    for who, repo_id, status in (
        ("bob", own, 403),
        ("alice_read", own, 403),
        ("bob", team, 403),
        (None, own, 401),
    ):
        with pytest.raises(HfHubHTTPError) as error:
            list(as_user(who).list_pending_access_requests(repo_id))
        assert error.value.response.status_code == status
        with pytest.raises(HfHubHTTPError):
            as_user(who).grant_access(repo_id, "carol")
    as_user("alice").grant_access(team, "carol")  # an org admin reviews the org's requests
    assert users(as_user("admin").list_accepted_access_requests(team)) == ["carol"]


def test_turning_gating_off_opens_the_files_and_keeps_the_requests(
    api, as_user, endpoint, tokens, tmp_path
):
    repo_id = make_gated(api, "toggle-gate", "manual")
    assert ask(endpoint, tokens["carol"], repo_id, ANSWERS).status_code == 303
    api.reject_access_request(
        repo_id, "carol", rejection_reason=None
    )  # the client requires the argument
    api.update_repo_settings(repo_id, gated=False)
    assert download(as_user("carol"), repo_id, "config.json", tmp_path / "carol") == CONFIG
    assert download(as_user(None), repo_id, "model.safetensors", tmp_path / "anonymous") == WEIGHTS
    assert ask(endpoint, tokens["dave"], repo_id, ANSWERS).status_code == 400  # nothing to ask for
    assert users(api.list_rejected_access_requests(repo_id)) == ["carol"]
    api.update_repo_settings(repo_id, gated="auto")
    assert "has been rejected" in str(refused(as_user("carol"), repo_id, tmp_path / "again"))


def test_listing_pages_follow_link_headers(api, hub, endpoint):
    repo_id = make_gated(api, "many", "manual", card=PLAIN_CARD)
    db = Database(hub.database_url)
    names = [f"fan{i:02d}" for i in range(12)]
    for name in names:
        AccountService(db).create_user(name)
    db.dispose()
    for name in names:
        api.grant_access(repo_id, name)
    assert sorted(users(api.list_accepted_access_requests(repo_id))) == names
    headers = {"Authorization": f"Bearer {api.token}"}
    page = httpx.get(
        f"{endpoint}/api/models/{repo_id}/user-access-request/accepted?limit=10", headers=headers
    )
    assert len(page.json()) == 10 and 'rel="next"' in page.headers["link"]
    rest = httpx.get(page.headers["link"].split(";")[0].strip("<>"), headers=headers)
    assert {item["user"]["user"] for item in page.json() + rest.json()} == set(names)
    assert "link" not in rest.headers
    too_small = httpx.get(
        f"{endpoint}/api/models/{repo_id}/user-access-request/accepted?limit=5", headers=headers
    )
    assert too_small.status_code == 400


def test_datasets_are_gated_with_their_own_wording(api, as_user, endpoint, tokens, tmp_path):
    repo_id = make_gated(api, "gated-data", "auto", card=PLAIN_CARD, repo_type="dataset")
    with pytest.raises(GatedRepoError) as error:
        download(as_user("carol"), repo_id, "config.json", tmp_path, repo_type="dataset")
    assert f"Access to dataset {repo_id} is restricted" in str(error.value)
    assert f"Visit {endpoint}/datasets/{repo_id} to ask for access." in str(error.value)
    answer = ask(endpoint, tokens["carol"], repo_id, prefix="datasets/")
    assert answer.headers["location"] == f"{endpoint}/datasets/{repo_id}"
    assert (
        download(as_user("carol"), repo_id, "config.json", tmp_path, repo_type="dataset") == CONFIG
    )


# -- the other ways to the bytes ----------------------------------------------------------------


def test_pull_requests_need_access(api, as_user):
    repo_id = make_gated(api, "pull-requests", "manual")
    with pytest.raises(GatedRepoError):
        as_user("carol").upload_file(
            path_or_fileobj=b"hi", path_in_repo="hi.txt", repo_id=repo_id, create_pr=True
        )
    api.grant_access(repo_id, "carol")
    commit = as_user("carol").upload_file(
        path_or_fileobj=b"hi", path_in_repo="hi.txt", repo_id=repo_id, create_pr=True
    )
    assert commit.pr_num is not None


def test_xet_read_token_needs_access(api, endpoint, tokens):
    repo_id = make_gated(api, "xet-token", "manual")
    url = f"{endpoint}/api/models/{repo_id}/xet-read-token/main"
    carol = httpx.get(url, headers={"Authorization": f"Bearer {tokens['carol']}"})
    assert (carol.status_code, carol.headers["x-error-code"]) == (403, "GatedRepo")
    anonymous = httpx.get(url)
    assert (anonymous.status_code, anonymous.headers["x-error-code"]) == (401, "GatedRepo")
    owner = httpx.get(url, headers={"Authorization": f"Bearer {tokens['alice']}"})
    assert owner.status_code == 200 and owner.json()["accessToken"].startswith("xet_")


def test_lfs_batch_download_needs_access(api, endpoint, tokens):
    repo_id = make_gated(api, "lfs-batch", "manual")
    oid = api.get_paths_info(repo_id, ["model.safetensors"])[0].lfs.sha256
    body = {
        "operation": "download",
        "objects": [{"oid": oid, "size": len(WEIGHTS)}],
        "transfers": ["basic"],
    }

    def batch(who: str) -> httpx.Response:
        return httpx.post(
            f"{endpoint}/{repo_id}.git/info/lfs/objects/batch",
            json=body,
            auth=(who, tokens[who]),
            headers={"Accept": "application/vnd.git-lfs+json"},
        )

    refused_batch = batch("carol")
    assert (refused_batch.status_code, refused_batch.headers["x-error-code"]) == (403, "GatedRepo")
    api.grant_access(repo_id, "carol")
    href = batch("carol").json()["objects"][0]["actions"]["download"]["href"]
    assert httpx.get(href).content == WEIGHTS


def test_copying_lfs_files_out_needs_access(api, as_user, endpoint, tokens):
    repo_id = make_gated(api, "copy-source", "manual")
    oid = api.get_paths_info(repo_id, ["model.safetensors"])[0].lfs.sha256
    target = as_user("carol").create_repo("carols-copy").repo_id
    body = {
        "target": {"type": "model", "name": target},
        "files": [{"sha256": oid, "xetHash": None, "filename": "model.safetensors"}],
    }

    def duplicate() -> httpx.Response:
        return httpx.post(
            f"{endpoint}/api/models/{repo_id}/lfs-files/duplicate",
            json=body,
            headers={"Authorization": f"Bearer {tokens['carol']}"},
        )

    refused_copy = duplicate()
    assert (refused_copy.status_code, refused_copy.headers["x-error-code"]) == (403, "GatedRepo")
    api.grant_access(repo_id, "carol")
    assert duplicate().json() == {"failed": []}


def clone(
    hub, env: dict[str, str], repo_id: str, target: Path, who: str | None, tokens
) -> subprocess.CompletedProcess:
    host = hub.endpoint.removeprefix("http://")
    url = f"http://{who}:{tokens[who]}@{host}/{repo_id}" if who else f"http://{host}/{repo_id}"
    return subprocess.run(
        ["git", "clone", url, str(target)], env=env, capture_output=True, text=True, timeout=300
    )


def test_git_clone_needs_access(hub, api, tokens, git_env, tmp_path):
    repo_id = make_gated(api, "cloneable-gated", "manual")
    outsider = clone(hub, git_env, repo_id, tmp_path / "carol", "carol", tokens)
    assert outsider.returncode != 0 and "403" in outsider.stderr
    anonymous = clone(hub, git_env, repo_id, tmp_path / "anonymous", None, tokens)
    assert anonymous.returncode != 0 and not (tmp_path / "anonymous" / "config.json").exists()
    assert clone(hub, git_env, repo_id, tmp_path / "alice", "alice", tokens).returncode == 0
    assert (tmp_path / "alice" / "model.safetensors").read_bytes() == WEIGHTS

    api.grant_access(repo_id, "carol")
    granted = clone(hub, git_env, repo_id, tmp_path / "carol-granted", "carol", tokens)
    assert granted.returncode == 0, granted.stderr
    assert (
        tmp_path / "carol-granted" / "model.safetensors"
    ).read_bytes() == WEIGHTS  # LFS through the gate


def test_pull_request_diffs_need_access(api, as_user):
    """Discussions stay public on a gated repository, but a diff shows file contents: outsiders
    get the pull request without it."""
    repo_id = make_gated(api, "pr-diffs", "manual")
    api.upload_file(
        path_or_fileobj=b"secret weights v2",
        path_in_repo="notes.txt",
        repo_id=repo_id,
        create_pr=True,
    )
    (pr,) = api.get_repo_discussions(repo_id)
    outsider = as_user("carol")
    assert [d.num for d in outsider.get_repo_discussions(repo_id)] == [pr.num]
    hidden = outsider.get_discussion_details(repo_id, pr.num)
    assert hidden.is_pull_request and not hidden.diff
    assert "secret weights v2" in api.get_discussion_details(repo_id, pr.num).diff
    api.grant_access(repo_id, "carol")
    assert "secret weights v2" in outsider.get_discussion_details(repo_id, pr.num).diff
