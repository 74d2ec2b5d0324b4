"""A repository's settings page (issue 13) in Chromium against a live hub: visibility, gating and
the access-request queue, rename or move, the default branch, delete; each change read back
with huggingface_hub (and git for the default branch). Only the namespace's admins see the
page or may post its forms: readers get 403 (404 for a private repository), anonymous
visitors what a missing repository answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError
from playwright.sync_api import expect

from helpers import anonymous, serious_accessibility_violations

HUB_ENV = {"HUBSTEAD_TOKEN_CACHE_SECONDS": "1"}
PAGE = {"Accept": "text/html"}
MAIN_CARD = "---\nlicense: apache-2.0\n---\n# The main card\n\nWhat main says.\n"
DEV_CARD = "---\nlicense: mit\nlanguage: fr\n---\n# The dev card\n\nWhat dev says.\n"
CONFIG = b'{"model_type": "bert"}'


def make_repo(api: HfApi, name: str, private: bool = False) -> str:
    repo_id = api.create_repo(name, private=private).repo_id
    api.upload_file(path_or_fileobj=MAIN_CARD.encode(), path_in_repo="README.md", repo_id=repo_id)
    api.upload_file(path_or_fileobj=CONFIG, path_in_repo="config.json", repo_id=repo_id)
    return repo_id


def open_settings(open_as, endpoint: str, repo_id: str, user: str = "alice"):
    page = open_as(user, f"/{repo_id}/settings")
    assert page.url == f"{endpoint}/{repo_id}/settings"
    return page


def submit(page, button: str, **locate) -> int:
    """Click a button; the status of the POST's answer (before any redirect)."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, **locate).click()
    page.wait_for_load_state()
    return answer.value.status


def session_of(page) -> tuple[dict[str, str], str]:
    """The browser's cookies and a CSRF token of its forms, for requests made without it."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return cookies, page.locator("input[name=csrf_token]").first.input_value()


def test_visibility_is_toggled_from_the_page(endpoint, open_as, api: HfApi):
    repo_id = make_repo(api, "visibility-toggle")
    page = open_settings(open_as, endpoint, repo_id)
    expect(page.locator(".repo-tabs [aria-current=page]")).to_have_text("Settings")
    assert submit(page, "Make private") == 303
    expect(page.get_by_role("status")).to_have_text("Visibility changed.")
    expect(page.locator(".repo-kind .badge")).to_have_text("Private")
    assert api.model_info(repo_id).private is True
    with pytest.raises(RepositoryNotFoundError):
        anonymous(endpoint).model_info(repo_id)
    assert submit(page, "Make public") == 303
    assert api.model_info(repo_id).private is False
    assert anonymous(endpoint).model_info(repo_id).id == repo_id


def test_manual_gating_and_accepting_a_request_in_the_page(
    endpoint, open_as, api: HfApi, hub, tmp_path: Path
):
    repo_id = make_repo(api, "gated-in-the-page")
    page = open_settings(open_as, endpoint, repo_id)
    page.get_by_role("radio", name="Manual").check()
    assert submit(page, "Save gating") == 303
    expect(page.get_by_role("status")).to_have_text("Gating changed.")
    assert api.model_info(repo_id, expand=["gated"]).gated == "manual"

    bob = HfApi(endpoint=endpoint, token=hub.tokens["bob"])
    asked = httpx.post(
        f"{endpoint}/{repo_id}/ask-access",
        json={},
        headers={"Authorization": f"Bearer {hub.tokens['bob']}"},
    )
    assert asked.status_code == 303
    with pytest.raises(GatedRepoError):
        hf_hub_download(
            repo_id, "config.json", endpoint=endpoint, token=bob.token, cache_dir=tmp_path / "1"
        )

    page.reload()
    pending = page.locator("table[data-status=pending] tr[data-user=bob]")
    expect(pending).to_contain_text("bob@example.com")
    expect(page.locator("table[data-status=accepted]")).to_have_count(0)
    assert not serious_accessibility_violations(page)
    assert submit(page, "Accept bob") == 303
    expect(page.get_by_role("status")).to_have_text("Access request updated.")
    expect(page.locator("table[data-status=accepted] tr[data-user=bob]")).to_be_visible()
    assert [r.username for r in api.list_accepted_access_requests(repo_id)] == ["bob"]
    path = hf_hub_download(
        repo_id, "config.json", endpoint=endpoint, token=bob.token, cache_dir=tmp_path / "2"
    )
    assert Path(path).read_bytes() == CONFIG

    # rejected again from the page: bob loses access; a user who never asked can be let in
    assert submit(page, "Reject bob") == 303
    assert [r.username for r in api.list_rejected_access_requests(repo_id)] == ["bob"]
    with pytest.raises(GatedRepoError):
        hf_hub_download(
            repo_id, "config.json", endpoint=endpoint, token=bob.token, cache_dir=tmp_path / "3"
        )
    page.get_by_label("Give a user access").fill("nobody-here")
    assert submit(page, "Grant access") == 404
    expect(page.locator("#access-error")).to_contain_text("nobody-here")
    page.get_by_role("radio", name="Off").check()
    assert submit(page, "Save gating") == 303
    assert not api.model_info(repo_id, expand=["gated"]).gated


def test_rename_and_move_to_an_organization(endpoint, open_as, api: HfApi):
    repo_id = make_repo(api, "before-the-move")
    page = open_settings(open_as, endpoint, repo_id)
    options = page.get_by_label("Owner").locator("option").all_inner_texts()
    assert options == ["alice", "acme"]
    page.get_by_label("Owner").select_option("acme")
    page.get_by_label("New name").fill("after-the-move")
    assert submit(page, "Rename") == 303
    assert page.url == f"{endpoint}/acme/after-the-move"
    assert api.model_info("acme/after-the-move").id == "acme/after-the-move"
    assert api.model_info(repo_id).id == "acme/after-the-move"  # the old id redirects
    old = httpx.get(f"{endpoint}/{repo_id}/settings", headers=PAGE)
    assert old.status_code == 307 and old.headers["location"] == "/acme/after-the-move/settings"

    page.goto(f"{endpoint}/acme/after-the-move/settings")
    taken = make_repo(api, "taken-by-another")
    page.get_by_label("Owner").select_option("alice")
    page.get_by_label("New name").fill("taken-by-another")
    assert submit(page, "Rename") == 409
    expect(page.locator("#rename-error")).to_contain_text("already exists")
    expect(page.get_by_label("New name")).to_have_value("taken-by-another")
    assert api.model_info(taken).sha != api.model_info("acme/after-the-move").sha


def test_the_default_branch_is_what_clone_the_page_and_model_info_follow(
    endpoint, open_as, api: HfApi, git_env, tmp_path: Path
):
    repo_id = make_repo(api, "default-branch")
    api.create_branch(repo_id, branch="dev")
    api.upload_file(
        path_or_fileobj=DEV_CARD.encode(), path_in_repo="README.md", repo_id=repo_id, revision="dev"
    )
    page = open_settings(open_as, endpoint, repo_id)
    branch = page.get_by_label("Branch", exact=True)
    expect(branch).to_have_value("main")
    assert branch.locator("option").all_inner_texts() == ["dev", "main"]
    branch.select_option("dev")
    assert submit(page, "Save branch") == 303
    expect(page.get_by_role("status")).to_have_text("Default branch changed.")
    expect(page.get_by_label("Branch", exact=True)).to_have_value("dev")

    remote = f"{endpoint}/{repo_id}"
    listed = subprocess.run(
        ["git", "ls-remote", "--symref", remote, "HEAD"],
        env=git_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert listed.stdout.startswith("ref: refs/heads/dev\tHEAD")
    subprocess.run(
        ["git", "clone", remote, str(tmp_path / "clone")],
        env={**git_env, "GIT_LFS_SKIP_SMUDGE": "1"},
        capture_output=True,
        check=True,
        timeout=120,
    )
    assert (tmp_path / "clone" / "README.md").read_text() == DEV_CARD
    # model_info without a revision describes the default branch; main stays main by name
    assert api.model_info(repo_id).card_data.license == "mit"
    assert api.model_info(repo_id, revision="main").card_data.license == "apache-2.0"
    downloaded = hf_hub_download(repo_id, "README.md", endpoint=endpoint, cache_dir=tmp_path)
    assert Path(downloaded).read_text() == MAIN_CARD  # the clients name main: /resolve/main
    # the card page and the Files tab follow the default branch
    page.goto(f"{endpoint}/{repo_id}")
    expect(page.locator(".markdown h1")).to_have_text("The dev card")
    files = page.get_by_role("link", name="Files and versions")
    expect(files).to_have_attribute("href", f"/{repo_id}/tree/dev")
    # the default branch cannot be deleted from under the repository
    with pytest.raises(HfHubHTTPError) as refused:
        api.delete_branch(repo_id, branch="dev")
    assert refused.value.response.status_code == 403 and "default branch" in str(refused.value)
    page.goto(f"{endpoint}/{repo_id}/settings")
    page.get_by_label("Branch", exact=True).select_option("main")
    assert submit(page, "Save branch") == 303
    assert api.model_info(repo_id).card_data.license == "apache-2.0"
    page.goto(f"{endpoint}/{repo_id}")
    expect(page.locator(".markdown h1")).to_have_text("The main card")


def test_delete_needs_the_full_id_typed(endpoint, open_as, api: HfApi):
    repo_id = make_repo(api, "to-be-deleted")
    page = open_settings(open_as, endpoint, repo_id)
    page.get_by_label("to confirm").fill("to-be-deleted")  # the name alone is not enough
    assert submit(page, f"Delete {repo_id}") == 400
    expect(page.locator("#delete-error")).to_contain_text("nothing was deleted")
    expect(page.get_by_label("to confirm")).to_have_attribute("aria-invalid", "true")
    assert api.repo_exists(repo_id)
    page.get_by_label("to confirm").fill(repo_id)
    assert submit(page, f"Delete {repo_id}") == 303
    assert page.url == f"{endpoint}/alice"
    assert not api.repo_exists(repo_id)


def test_readers_neither_see_the_page_nor_post_its_forms(endpoint, open_as, api: HfApi, hub):
    public = make_repo(api, "not-for-bob")
    private = make_repo(api, "hidden-from-bob", private=True)
    team = api.create_repo("acme/bob-reads-this").repo_id  # bob is a reader of acme
    page = open_as("bob", f"/{public}")
    assert page.get_by_role("link", name="Settings").count() == 0
    cookies, csrf = session_of(page)
    for repo_id, status in ((public, 403), (team, 403), (private, 404)):
        shown = page.goto(f"{endpoint}/{repo_id}/settings")
        assert shown.status == status, repo_id
        for form, data in (
            ("visibility", {"visibility": "private"}),
            ("gating", {"gated": "manual"}),
            ("access-requests", {"user": "bob", "status": "accepted"}),
            ("grant", {"user": "bob"}),
            ("rename", {"namespace": "bob", "name": "stolen"}),
            ("default-branch", {"branch": "main"}),
            ("delete", {"confirm": repo_id}),
        ):
            posted = httpx.post(
                f"{endpoint}/{repo_id}/settings/{form}",
                data={**data, "csrf_token": csrf},
                cookies=cookies,
            )
            assert posted.status_code == status, (repo_id, form, posted.text)
    for repo_id in (public, team, private):
        info = api.model_info(repo_id, expand=["gated", "private"])
        assert info.id == repo_id and not info.gated
    assert api.model_info(public).private is False
    assert not HfApi(endpoint=endpoint, token=hub.tokens["bob"]).repo_exists("bob/stolen")
    # anonymous: the page of a public repository answers like a missing one (sign in)
    assert httpx.get(f"{endpoint}/{public}/settings", headers=PAGE).status_code == 401
    # no session and no CSRF token: refused before the body is read (401, "sign in")
    assert (
        httpx.post(f"{endpoint}/{public}/settings/delete", data={"confirm": public}).status_code
        == 401
    )
    assert api.repo_exists(public)


def test_the_settings_page_is_accessible(endpoint, open_as, api: HfApi, hub):
    repo_id = make_repo(api, "settings-a11y")
    api.update_repo_settings(repo_id, gated="manual")
    bearer = {"Authorization": f"Bearer {hub.tokens['bob']}"}
    assert (
        httpx.post(f"{endpoint}/{repo_id}/ask-access", json={}, headers=bearer).status_code == 303
    )
    page = open_settings(open_as, endpoint, repo_id)
    assert not serious_accessibility_violations(page)
    page.emulate_media(color_scheme="dark")
    assert not serious_accessibility_violations(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert not serious_accessibility_violations(page)
    expect(page.locator("table[data-status=pending] tr[data-user=bob]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the table scrolls
