"""Editing the card in a browser (issue 13), in Chromium against a live hub: the linter shows
`license: apache2` as an error at its line with the fix, "Apply fix" repairs it, the live preview
renders math (KaTeX) and sanitizes scripts, the commit lands (read back with huggingface_hub) or
is refused with the commit service's message; a reader opens a pull request instead; the
completeness checklist on the card page for writers only; the page works without JavaScript."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from playwright.sync_api import expect

from helpers import serious_accessibility_violations, sign_in
from hubstead.domain.cards.completeness import check_completeness

PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}
SHOTS = Path(os.environ.get("HUBSTEAD_SHOTS", "/tmp/shots"))

START = """---
license: mit
language: en
---
# Editor model

A small model to edit in the browser.
"""


@pytest.fixture(scope="module")
def sessions(browser, endpoint):
    """Each user signs in once per module (sign-ins are limited per account), and each test's
    tab starts from that browser state: its session and CSRF cookies."""
    states: dict[str, dict] = {}

    def state(login: str) -> dict:
        if login not in states:
            context = browser.new_context()
            sign_in(context.new_page(), endpoint, login, PASSWORDS[login])
            states[login] = context.storage_state()
            context.close()
        return states[login]

    return state


@pytest.fixture
def signed_in(browser, endpoint, sessions):
    @contextlib.contextmanager
    def tab(login: str, path: str = "", **options):
        """A browser tab of its own, signed in as `login`, at `path`."""
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(storage_state=sessions(login), **options)
        try:
            page = context.new_page()
            page.goto(f"{endpoint}{path}")
            yield page
        finally:
            context.close()

    return tab


def new_model(api: HfApi, name: str, readme: str = START) -> str:
    repo_id = api.create_repo(name).repo_id
    api.upload_file(path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=repo_id)
    return repo_id


def editor_path(repo_id: str, rev: str = "main") -> str:
    return f"/{repo_id}/edit/{rev}/README.md"


def editor_text(page):
    return page.get_by_role("textbox", name="Markdown and YAML metadata")


def caret(page) -> int:
    return page.evaluate("document.getElementById('card-text').selectionStart")


def readme(api: HfApi, repo_id: str, revision: str = "main") -> str:
    path = hf_hub_download(repo_id, "README.md", revision=revision, endpoint=api.endpoint)
    return Path(path).read_text(encoding="utf-8")


def test_a_writer_fixes_the_license_with_the_linter_and_commits(signed_in, endpoint, api):
    repo_id = new_model(api, "editor-fix")
    text = START.replace("license: mit", "license: apache2") + (
        "\nThe loss is $$x^2$$ here.\n\n## Bias, risks and limitations\n\nUntested on dialects.\n"
    )
    with signed_in("alice", editor_path(repo_id)) as page:
        expect(editor_text(page)).to_have_value(START)
        bias = page.locator('#checklist li[data-key="bias"]')
        expect(bias).to_have_attribute("data-done", "false")
        editor_text(page).fill(text)
        finding = page.locator('#findings li[data-line="2"]')
        expect(finding).to_have_attribute("data-severity", "error")
        expect(finding).to_contain_text("did you mean apache-2.0?")
        expect(page.locator("#findings-summary")).to_contain_text("1 error")
        expect(page.locator('#editor-gutter [data-line="2"]')).to_have_class(
            re.compile("mark-error")
        )
        expect(bias).to_have_attribute("data-done", "true")  # the checklist follows the text
        # the finding's line button moves the caret to that line
        finding.get_by_role("button", name="Go to line 2").click()
        assert caret(page) == text.index("license:")
        finding.get_by_role("button", name=re.compile("^Apply fix")).click()
        expect(page.locator("#findings .finding-error")).to_have_count(0)
        expect(page.locator("#findings-summary")).to_have_text("No problems found in the metadata.")
        assert editor_text(page).input_value().startswith("---\nlicense: apache-2.0\n")
        expect(page.locator("#card-preview .katex").first).to_be_visible()  # KaTeX, server-side
        expect(page.locator("#card-preview h2")).to_have_text("Bias, risks and limitations")
        page.get_by_label("Commit message").fill("Use the Apache license")
        page.get_by_label("Commit directly to the main branch").check()
        page.get_by_role("button", name="Commit changes").click()
        page.wait_for_url(f"{endpoint}/{repo_id}")
        expect(page.locator(".card-body")).to_contain_text("Untested on dialects.")
        expect(page.locator(".card-body .katex").first).to_be_visible()
    assert api.model_info(repo_id).card_data.license == "apache-2.0"
    assert readme(api, repo_id) == text.replace("apache2", "apache-2.0")
    assert api.list_repo_commits(repo_id)[0].title == "Use the Apache license"


def test_a_commit_with_metadata_errors_is_refused_and_nothing_changes(signed_in, endpoint, api):
    repo_id = new_model(api, "editor-refused")
    commits = [commit.commit_id for commit in api.list_repo_commits(repo_id)]
    broken = START.replace("license: mit", "license: apache2")
    with signed_in("alice", editor_path(repo_id)) as page:
        editor_text(page).fill(broken)
        expect(page.locator("#findings .finding-error")).to_have_count(1)
        with page.expect_response(
            lambda r: r.request.method == "POST" and "preview" not in r.url
        ) as answer:
            page.get_by_role("button", name="Commit changes").click()
        assert answer.value.status == 400
        error = page.get_by_role("alert")
        expect(error).to_contain_text('Invalid metadata in README.md: Error: "license"')
        expect(error).to_contain_text("'apache2' is not a license id (did you mean 'apache-2.0'?)")
        expect(editor_text(page)).to_have_value(broken)  # the text is kept, to be fixed
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "editor-refused-desktop-light.png"), full_page=True)
        expect(page.locator('#findings li[data-line="2"]')).to_contain_text(
            "did you mean apache-2.0?"
        )
    assert [commit.commit_id for commit in api.list_repo_commits(repo_id)] == commits
    assert api.model_info(repo_id).card_data.license == "mit"
    assert readme(api, repo_id) == START


def test_a_reader_opens_a_pull_request_with_the_edit(signed_in, endpoint, api, hub):
    repo_id = new_model(api, "editor-pr")
    main_before = api.model_info(repo_id).sha
    edited = START + "\nProposed by a reader.\n"
    with signed_in("bob", editor_path(repo_id)) as page:
        expect(page.locator("#pr-only")).to_contain_text("proposed as a pull request")
        expect(page.get_by_label("Commit directly to the main branch")).to_have_count(0)
        # a hand-made form asking for a commit to the branch is refused by the router
        csrf = page.locator('input[name="csrf_token"]').first.input_value()
        forged = page.request.post(
            f"{endpoint}{editor_path(repo_id)}",
            form={"csrf_token": csrf, "content": edited, "target": "branch", "action": "commit"},
            max_redirects=0,
        )
        assert forged.status == 403
        editor_text(page).fill(edited)
        page.get_by_label("Commit message").fill("Say who proposed it")
        page.get_by_role("button", name="Open pull request").click()
        page.wait_for_url(re.compile(rf"{re.escape(endpoint)}/{repo_id}/discussions/\d+$"))
        num = int(page.url.rsplit("/", 1)[1])
    bob = HfApi(endpoint=endpoint, token=hub.tokens["bob"])
    pull = bob.get_discussion_details(repo_id, num)
    assert pull.is_pull_request and pull.author == "bob" and pull.status == "open"
    assert pull.title == "Say who proposed it"
    assert readme(bob, repo_id, pull.git_reference) == edited
    assert api.model_info(repo_id).sha == main_before  # main is untouched
    assert readme(api, repo_id) == START


def test_the_checklist_on_the_card_page_is_for_writers_only(signed_in, endpoint, api, page):
    text = START + "\n## Intended uses and limitations\n\n<!-- say what it is for -->\n"
    repo_id = new_model(api, "editor-checklist", text)
    expected = {item.key: item.done for item in check_completeness(text)}
    assert expected["description"] and expected["license"] and not expected["uses"]
    with signed_in("alice", f"/{repo_id}") as owner:
        panel = owner.locator(".card-checklist")
        expect(panel).to_be_visible()
        items = panel.locator("li.check-item")
        expect(items).to_have_count(len(expected))
        shown = {
            items.nth(i).get_attribute("data-key"): items.nth(i).get_attribute("data-done")
            == "true"
            for i in range(items.count())
        }
        assert shown == expected
        expect(panel.locator('li[data-key="uses"]')).to_contain_text("Fill in “Intended uses")
        expect(panel).to_contain_text(f"{sum(expected.values())} of {len(expected)} done")
        owner.get_by_role("link", name="Edit model card").click()
        owner.wait_for_url(f"{endpoint}{editor_path(repo_id)}")
    page.goto(f"{endpoint}/{repo_id}")  # anonymous: neither the checklist nor the edit link
    expect(page.locator(".card-body")).to_contain_text("A small model to edit")
    expect(page.locator(".card-checklist")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit model card")).to_have_count(0)
    with signed_in("bob", f"/{repo_id}") as reader:  # may propose, not write
        expect(reader.locator(".card-body")).to_contain_text("A small model to edit")
        expect(reader.locator(".card-checklist")).to_have_count(0)
        expect(reader.get_by_role("link", name="Edit model card")).to_be_visible()


def test_scripts_in_the_card_are_sanitized_in_the_preview(signed_in, endpoint, api):
    repo_id = new_model(api, "editor-xss")
    hostile = (
        START
        + '\n<script>window.pwned = 1</script>\n\n<img src="x" onerror="window.pwned = 2">\n\n'
        + '<a href="javascript:window.pwned = 3">a link</a> and **bold** text\n'
    )
    with signed_in("alice", editor_path(repo_id)) as page:
        editor_text(page).fill(hostile)
        expect(page.locator("#card-preview strong")).to_have_text("bold")
        html = page.locator("#card-preview").inner_html()
        assert "<script" not in html and "onerror" not in html and "javascript:" not in html
        page.wait_for_timeout(300)  # an image that failed to load would have fired by now
        assert page.evaluate("window.pwned") is None


def test_without_javascript_the_form_previews_and_commits(signed_in, endpoint, api):
    repo_id = new_model(api, "editor-nojs")
    edited = START.replace("A small model", "A small *edited* model") + "\n$$E = mc^2$$\n"
    with signed_in("alice", editor_path(repo_id), java_script_enabled=False) as page:
        editor_text(page).fill(edited.replace("license: mit", "license: MIT"))
        page.get_by_role("button", name="Preview").click()
        page.wait_for_load_state()
        expect(page.locator("#card-preview em")).to_have_text("edited")
        expect(page.locator("#card-preview .katex").first).to_be_attached()
        expect(page.locator('#findings li[data-line="2"]')).to_contain_text("did you mean mit?")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "editor-nojs-desktop-light.png"), full_page=True)
        editor_text(page).fill(edited)
        page.get_by_role("button", name="Commit changes").click()
        page.wait_for_url(f"{endpoint}/{repo_id}")
        expect(page.locator(".card-body em")).to_have_text("edited")
    assert readme(api, repo_id) == edited


def test_the_editor_needs_a_signed_in_user_and_a_branch(signed_in, endpoint, api, page):
    repo_id = new_model(api, "editor-access")
    page.goto(f"{endpoint}{editor_path(repo_id)}")
    assert page.url.startswith(f"{endpoint}/login?next=")
    with signed_in("alice", editor_path(repo_id, "no-such-branch")) as tab:
        expect(tab.locator(".error-message")).to_contain_text("No branch no-such-branch")


def test_the_editor_page_is_accessible_light_and_dark(signed_in, endpoint, api):
    text = START.replace("license: mit", "license: apache2").replace(
        "language: en", "language: EN\nlicence: x"
    )
    repo_id = new_model(api, "editor-a11y", START)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height, label in ((1280, 900, "desktop"), (390, 844, "phone")):
        with signed_in(
            "alice",
            editor_path(repo_id),
            viewport={"width": width, "height": height},
        ) as page:
            editor_text(page).fill(text + "\nInline math $$\\sum_i x_i$$.\n")
            expect(page.locator("#findings .finding")).to_have_count(3)
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                assert serious_accessibility_violations(page) == []
                page.screenshot(
                    path=str(SHOTS / f"editor-edit-{label}-{scheme}.png"), full_page=True
                )
            page.goto(f"{endpoint}/{repo_id}")
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                assert serious_accessibility_violations(page) == []
                page.screenshot(
                    path=str(SHOTS / f"editor-card-{label}-{scheme}.png"), full_page=True
                )


def test_a_branch_that_moved_meanwhile_is_not_overwritten_unknowingly(signed_in, endpoint, api):
    repo_id = new_model(api, "editor-stale")
    mine = START + "\nMy edit.\n"
    theirs = START + "\nTheir edit, made while the editor was open.\n"
    with signed_in("alice", editor_path(repo_id)) as page:
        api.upload_file(path_or_fileobj=theirs.encode(), path_in_repo="README.md", repo_id=repo_id)
        editor_text(page).fill(mine)
        page.get_by_role("button", name="Commit changes").click()
        expect(page.get_by_role("alert")).to_contain_text("The branch was updated since you opened")
        expect(editor_text(page)).to_have_value(mine)
        assert readme(api, repo_id) == theirs  # refused: theirs is still there
        page.get_by_role("button", name="Commit changes").click()  # now knowingly
        page.wait_for_url(f"{endpoint}/{repo_id}")
    assert readme(api, repo_id) == mine


def test_a_dataset_card_has_its_own_checklist_and_editor(signed_in, endpoint, api):
    repo_id = api.create_repo("editor-dataset", repo_type="dataset").repo_id
    text = "---\nlicense: cc-by-4.0\n---\n# Reviews\n\nProduct reviews with a label.\n"
    api.upload_file(
        path_or_fileobj=text.encode(),
        path_in_repo="README.md",
        repo_id=repo_id,
        repo_type="dataset",
    )
    with signed_in("alice", f"/datasets/{repo_id}") as page:
        items = page.locator(".card-checklist li.check-item")
        expect(items).to_have_count(5)
        assert [items.nth(i).get_attribute("data-key") for i in range(5)] == [
            "description",
            "structure",
            "creation",
            "bias",
            "license",
        ]
        page.get_by_role("link", name="Edit dataset card").click()
        page.wait_for_url(f"{endpoint}/datasets{editor_path(repo_id)}")
        editor_text(page).fill(text + "\n## Dataset structure\n\nFields `text` and `label`.\n")
        expect(page.locator('#checklist li[data-key="structure"]')).to_have_attribute(
            "data-done", "true"
        )
        page.get_by_role("button", name="Commit changes").click()
        page.wait_for_url(f"{endpoint}/datasets/{repo_id}")
        expect(page.locator('.card-checklist li[data-key="structure"]')).to_have_attribute(
            "data-done", "true"
        )
    card = api.dataset_info(repo_id).card_data
    assert card.license == "cc-by-4.0"
