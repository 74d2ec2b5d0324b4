"""The community tab's write side in a browser (issue 13), in Chromium against a live hub: open a
discussion or a pull request, comment with math, close, reopen, see a pull request's diff and
merge it, with the service's rules (anyone who sees the repository comments; its author or a
writer closes; writers merge); every change read back with huggingface_hub."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from playwright.sync_api import expect

from helpers import serious_accessibility_violations, sign_in

PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}


@contextlib.contextmanager
def signed_in(browser, endpoint: str, login: str, path: str = ""):
    """A browser tab of its own (its own cookies), signed in as `login`, at `path`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        tab = context.new_page()
        sign_in(tab, endpoint, login, PASSWORDS[login], path)
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="module")
def bob_api(hub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"])


def _repo_with_notes(api: HfApi, name: str, text: str = "first line\n") -> str:
    repo_id = api.create_repo(name).repo_id
    api.upload_file(path_or_fileobj=text.encode(), path_in_repo="notes.txt", repo_id=repo_id)
    return repo_id


def _csrf(page) -> str:
    return page.locator('input[name="csrf_token"]').first.input_value()


def _post(page, url: str, form: dict[str, str]):
    """A form post from the tab's own cookies (what a hand-made form would send), redirects
    not followed."""
    return page.request.post(url, form=form, max_redirects=0)


def _comment_box(page):
    return page.get_by_role("textbox", name=re.compile("^Comment"))


def _no_violations(page) -> None:
    assert serious_accessibility_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert serious_accessibility_violations(page) == []
    page.emulate_media(color_scheme="light")


def test_open_a_discussion_comment_with_math_close_and_reopen(api, endpoint, browser):
    repo_id = _repo_with_notes(api, "community-talk")
    with signed_in(browser, endpoint, "bob", f"/{repo_id}/discussions") as page:
        page.get_by_role("link", name="New discussion").click()
        page.wait_for_load_state()
        assert page.url == f"{endpoint}/{repo_id}/discussions/new"
        expect(page.get_by_role("radio", name="Discussion")).to_be_checked()
        page.get_by_role("radio", name="Pull request").check()  # the labels follow the kind
        expect(page.get_by_role("button", name="Open pull request")).to_be_visible()
        page.get_by_role("radio", name="Discussion").check()
        expect(page.get_by_role("heading", name="New discussion")).to_be_visible()
        page.get_by_label("Title").fill("Does it handle squares?")
        page.get_by_label("Description").fill("The loss is $$x^2 + y^2$$ here.")
        page.get_by_role("button", name="Preview").click()
        page.wait_for_load_state()
        expect(page.locator(".community-preview .katex").first).to_be_visible()
        expect(page.get_by_label("Title")).to_have_value("Does it handle squares?")
        _no_violations(page)
        page.get_by_role("button", name="Open discussion").click()
        page.wait_for_load_state()
        assert page.url == f"{endpoint}/{repo_id}/discussions/1"
        expect(page.locator("#discussion-status")).to_have_text("open")
        details = api.get_discussion_details(repo_id, 1)
        assert (details.title, details.author, details.is_pull_request) == (
            "Does it handle squares?",
            "bob",
            False,
        )
        assert details.events[0].content == "The loss is $$x^2 + y^2$$ here."

        _comment_box(page).fill("Squared: $$x^2$$")
        page.get_by_role("button", name="Comment", exact=True).click()
        page.wait_for_load_state()
        assert page.url.endswith("/discussions/1#latest")
        latest = page.locator(".comment").last
        expect(latest.locator(".katex").first).to_be_visible()
        expect(latest).to_contain_text("bob")
        comments = [e for e in api.get_discussion_details(repo_id, 1).events if e.type == "comment"]
        assert comments[-1].content == "Squared: $$x^2$$"
        _no_violations(page)

        # bob is the author (not a writer): he may close and reopen his own discussion
        page.get_by_role("button", name="Close discussion").click()
        page.wait_for_load_state()
        expect(page.locator("#discussion-status")).to_have_text("closed")
        assert api.get_discussion_details(repo_id, 1).status == "closed"
        page.get_by_role("button", name="Reopen discussion").click()
        page.wait_for_load_state()
        expect(page.locator("#discussion-status")).to_have_text("open")
        assert api.get_discussion_details(repo_id, 1).status == "open"
        statuses = [
            e.new_status
            for e in api.get_discussion_details(repo_id, 1).events
            if e.type == "status-change"
        ]
        assert statuses == ["closed", "open"]

        # closing with the comment box's text posts it first
        _comment_box(page).fill("Answered, closing.")
        page.get_by_role("button", name="Close discussion").click()
        page.wait_for_load_state()
        details = api.get_discussion_details(repo_id, 1)
        assert details.status == "closed"
        assert [e.type for e in details.events][-2:] == ["comment", "status-change"]
        assert details.events[-2].content == "Answered, closing."


def test_a_pull_request_from_the_client_is_reviewed_and_merged_in_the_page(
    api, bob_api, endpoint, browser, tmp_path
):
    repo_id = _repo_with_notes(api, "community-merge")
    commit = bob_api.create_commit(
        repo_id,
        [CommitOperationAdd("notes.txt", b"first line\nsecond line from bob\n")],
        commit_message="Add bob's line",
        create_pr=True,
    )
    num = commit.pr_num
    url = f"{endpoint}/{repo_id}/discussions/{num}"

    with signed_in(browser, endpoint, "bob", f"/{repo_id}/discussions/{num}") as page:
        expect(page.locator(".pr-diff")).to_contain_text("second line from bob")
        assert page.get_by_role("button", name="Merge into main").count() == 0  # not a writer
        refused = _post(page, f"{url}/merge", {"csrf_token": _csrf(page)})
        assert refused.status == 403
        assert "Only a writer of the repository can merge" in refused.text()
        assert api.get_discussion_details(repo_id, num).status == "open"
        assert api.list_repo_commits(repo_id)[0].title != f"Merge pull request #{num}"
        assert b"bob" not in Path(_download(api, repo_id, tmp_path / "before")).read_bytes()

    with signed_in(browser, endpoint, "alice", f"/{repo_id}/discussions/{num}") as page:
        diff = page.locator(".pr-diff")
        expect(diff.get_by_role("link", name="notes.txt")).to_be_visible()
        expect(diff.locator(".added")).to_have_text("+1")
        expect(diff.locator("pre.diff")).to_contain_text("+second line from bob")
        expect(page.locator(".pr-commits")).to_contain_text("Add bob's line")
        _no_violations(page)
        page.get_by_role("button", name="Merge into main").click()
        page.wait_for_load_state()
        expect(page.locator("#discussion-status")).to_have_text("merged")
        expect(page.locator(".pr-panel")).to_contain_text("Merged into main")
        assert page.get_by_role("button", name="Merge into main").count() == 0
        assert page.get_by_role("button", name=re.compile("Close|Reopen")).count() == 0
        expect(diff).to_contain_text("second line from bob")  # still readable once merged

    details = api.get_discussion_details(repo_id, num)
    assert details.status == "merged" and details.merge_commit_oid
    local = _download(api, repo_id, tmp_path / "after")
    assert Path(local).read_bytes() == b"first line\nsecond line from bob\n"


def _download(api: HfApi, repo_id: str, cache: object) -> str:
    return hf_hub_download(
        repo_id, "notes.txt", endpoint=api.endpoint, token=api.token, cache_dir=cache
    )


def test_a_pull_request_opened_in_the_page_is_pushed_to_then_merged(
    api, bob_api, endpoint, browser, tmp_path
):
    repo_id = _repo_with_notes(api, "community-web-pr")
    main = api.list_repo_refs(repo_id).branches[0].target_commit
    with signed_in(browser, endpoint, "bob", f"/{repo_id}/discussions") as page:
        page.get_by_role("link", name="New pull request").click()
        page.wait_for_load_state()
        expect(page.get_by_role("radio", name="Pull request")).to_be_checked()
        expect(page.locator(".community-help")).to_contain_text("--revision refs/pr/N")
        _no_violations(page)
        page.get_by_label("Title").fill("Add a config")
        page.get_by_label("Description").fill("I will push the config next.")
        page.get_by_role("button", name="Open pull request").click()
        page.wait_for_load_state()
        num = int(page.url.rsplit("/", 1)[-1])
        expect(page.locator(".pr-panel")).to_contain_text("No changes yet")
        expect(page.locator(".pr-push")).to_contain_text(f"--revision refs/pr/{num}")
        refs = api.list_repo_refs(repo_id, include_pull_requests=True)
        assert [(r.ref, r.target_commit) for r in refs.pull_requests] == [
            (f"refs/pr/{num}", main)  # empty: at main's head
        ]
        details = api.get_discussion_details(repo_id, num)
        assert details.is_pull_request and details.author == "bob" and details.status == "open"
        with signed_in(browser, endpoint, "alice", f"/{repo_id}/discussions/{num}") as alice:
            expect(alice.locator(".pr-panel")).to_contain_text("Nothing to merge yet")
            assert alice.get_by_role("button", name="Merge into main").count() == 0

        bob_api.create_commit(
            repo_id,
            [CommitOperationAdd("config.json", b'{"hidden_size": 8}\n')],
            commit_message="Add the config",
            revision=f"refs/pr/{num}",
        )
        page.reload()
        expect(page.locator(".pr-commits")).to_contain_text("Add the config")
        expect(page.locator(".pr-diff")).to_contain_text('"hidden_size": 8')

    with signed_in(browser, endpoint, "alice", f"/{repo_id}/discussions/{num}") as page:
        page.get_by_role("button", name="Merge into main").click()
        page.wait_for_load_state()
        expect(page.locator("#discussion-status")).to_have_text("merged")
    assert api.get_discussion_details(repo_id, num).status == "merged"
    local = hf_hub_download(
        repo_id, "config.json", endpoint=endpoint, token=api.token, cache_dir=tmp_path
    )
    assert Path(local).read_bytes() == b'{"hidden_size": 8}\n'


def test_a_conflicting_merge_is_shown_as_an_error(api, bob_api, endpoint, browser):
    repo_id = _repo_with_notes(api, "community-conflict")
    first, second = (
        bob_api.create_commit(
            repo_id,
            [CommitOperationAdd("notes.txt", f"first line, {word}\n".encode())],
            commit_message=f"Say {word}",
            create_pr=True,
        ).pr_num
        for word in ("hello", "goodbye")
    )
    api.merge_pull_request(repo_id, first)
    with signed_in(browser, endpoint, "alice", f"/{repo_id}/discussions/{second}") as page:
        expect(page.locator(".pr-panel")).to_contain_text("Merging would conflict with main in")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Merge into main").click()
        assert answer.value.status == 409
        expect(page.locator("#discussion-error")).to_contain_text("conflicts")
        expect(page.locator("#discussion-status")).to_have_text("open")
    assert api.get_discussion_details(repo_id, second).status == "open"


def test_a_reader_comments_but_cannot_close_someone_elses_discussion(api, hub, endpoint, browser):
    repo_id = api.create_repo("acme/community-rules").repo_id  # bob reads acme
    num = api.create_discussion(repo_id, "Roadmap", description="What comes next?").num
    url = f"{endpoint}/{repo_id}/discussions/{num}"
    with signed_in(browser, endpoint, "bob", f"/{repo_id}/discussions/{num}") as page:
        assert page.get_by_role("button", name="Close discussion").count() == 0
        refused = _post(page, f"{url}/status", {"csrf_token": _csrf(page), "status": "closed"})
        assert refused.status == 403
        assert "Only the author of the discussion or a writer" in refused.text()
        assert api.get_discussion_details(repo_id, num).status == "open"
        _comment_box(page).fill("A reader's thought")
        page.get_by_role("button", name="Comment", exact=True).click()
        page.wait_for_load_state()
        expect(page.locator(".comment").last).to_contain_text("A reader's thought")
        # an empty comment is the service's 400, shown on the page; the text box is kept
        empty = _post(page, f"{url}/comment", {"csrf_token": _csrf(page), "comment": "  "})
        assert empty.status == 400 and "non-empty" in empty.text()
        # a title too short: the form again, with the message and what was typed
        short = _post(
            page,
            f"{endpoint}/{repo_id}/discussions/new",
            {"csrf_token": _csrf(page), "title": "ab", "description": "kept text"},
        )
        assert short.status == 400
        assert "A title needs 3 to 200 characters" in short.text() and "kept text" in short.text()
    with signed_in(browser, endpoint, "alice", f"/{repo_id}/discussions/{num}") as page:
        page.get_by_role("button", name="Close discussion").click()  # a writer may
        page.wait_for_load_state()
        expect(page.locator("#discussion-status")).to_have_text("closed")
    details = api.get_discussion_details(repo_id, num)
    assert details.status == "closed"
    assert [e.content for e in details.events if e.type == "comment"][-1] == "A reader's thought"
    # a private repository: bob (no member of alice's namespace) gets a 404 page
    private = api.create_repo("community-private", private=True).repo_id
    with signed_in(browser, endpoint, "bob", f"/{private}/discussions/new") as page:
        assert page.locator(".error-code").inner_text() == "404"
        assert page.locator("form.community-form").count() == 0


def test_anonymous_sees_no_forms_and_posts_need_their_csrf_token(api, endpoint, page, browser):
    repo_id = _repo_with_notes(api, "community-anonymous")
    num = api.create_discussion(repo_id, "Open to all", description="Hi").num
    url = f"{endpoint}/{repo_id}/discussions/{num}"
    page.goto(f"{endpoint}/{repo_id}/discussions")
    assert page.get_by_role("link", name="New discussion").count() == 0
    expect(page.get_by_role("link", name="Sign in to start a discussion")).to_be_visible()
    page.goto(url)
    assert page.locator("main form").count() == 0
    expect(page.get_by_role("link", name="Sign in to comment")).to_be_visible()
    _no_violations(page)
    page.goto(f"{endpoint}/{repo_id}/discussions/new")
    assert page.url == f"{endpoint}/login?next=/{repo_id}/discussions/new"
    # an anonymous form post, even with a valid CSRF token (the sign-in form's), changes
    # nothing: it is sent to sign in first
    page.goto(f"{endpoint}/login")
    anonymous = _post(page, f"{url}/comment", {"csrf_token": _csrf(page), "comment": "anon"})
    assert anonymous.status == 303 and anonymous.headers["location"].startswith("/login?next=")

    # bob's own session cookie without the form's token: refused, nothing posted
    with signed_in(browser, endpoint, "bob", f"/{repo_id}/discussions/{num}") as tab:
        cookies = {c["name"]: c["value"] for c in tab.context.cookies()}
        for form in ({"comment": "forged"}, {"comment": "forged", "csrf_token": "0" * 64}):
            forged = httpx.post(f"{url}/comment", data=form, cookies=cookies)
            assert forged.status_code == 403 and "did not come from this site" in forged.text
        merged = httpx.post(f"{url}/status", data={"status": "closed"}, cookies=cookies)
        assert merged.status_code == 403
    details = api.get_discussion_details(repo_id, num)
    assert details.status == "open"
    assert [e.content for e in details.events if e.type == "comment"] == ["Hi"]
