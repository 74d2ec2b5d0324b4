"""Uploading files from the browser (issue 13), in Chromium against a live hub: files chosen,
dropped and a folder picked; large files hashed in the page and sent through LFS (multipart
past the threshold, which HUB_ENV lowers) with a progress bar each, small ones inside the
commit; a commit to the branch, to a new branch, or a pull request by a reader; everything read
back with huggingface_hub. CSRF-less posts and anonymous visitors get nowhere."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import httpx
from huggingface_hub import HfApi, hf_hub_download
from playwright.sync_api import expect

from helpers import serious_accessibility_violations, sign_in
from hubstead.testing import TEST_STORAGE

MiB = 1024 * 1024
HUB_ENV = {
    # 50 MB goes multipart in 8 MiB parts; a small binary file goes through the basic transfer
    "HUBSTEAD_LFS_MULTIPART_THRESHOLD": str(16 * MiB),
    "HUBSTEAD_LFS_MULTIPART_CHUNK_SIZE": str(8 * MiB),
}
SLOW = 300_000  # ms: 50 MB hashed and sent on a machine with two busy cores

DROP_A_FILE = """([selector, name, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, { type: "text/plain" }));
  const zone = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }
}"""

WATCH_PROGRESS = """(selector) => {
  window.progressSeen = [];
  const bar = document.querySelector(selector);
  new MutationObserver(() => window.progressSeen.push(Number(bar.getAttribute("aria-valuenow"))))
    .observe(bar, { attributes: true, attributeFilter: ["aria-valuenow"] });
}"""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def _upload_page(page, endpoint: str, repo_id: str, user: str, folder: str = "") -> None:
    """Sign in as `user`, then reach the upload page from the repository's files."""
    sign_in(page, endpoint, user, f"{user}-password", f"/{repo_id}/tree/main")
    label = "Upload files" if repo_id.startswith(f"{user}/") else "Upload files (pull request)"
    page.get_by_role("link", name=label, exact=True).click()
    page.wait_for_load_state()
    assert page.url == f"{endpoint}/{repo_id}/upload/main" + (f"/{folder}" if folder else "")


def _rows(page):
    return page.locator("#upload-list tr")


def _wait_done(page) -> None:
    expect(page.locator("#upload-result")).to_be_visible(timeout=SLOW)
    for row in _rows(page).all():
        expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
        expect(row.locator(".upload-state")).to_have_text("Done")


def _is_part(url: str) -> bool:
    """A multipart upload's part URL: the hub's, or an S3 one."""
    return "/part/" in url or "partNumber=" in url


def _signed_for_this_storage(url: str, endpoint: str) -> bool:
    """A signed LFS URL where this test pass keeps large files: the hub's own, or the bucket's."""
    if TEST_STORAGE == "s3":
        return not url.startswith(endpoint) and "X-Amz-Signature=" in url
    return url.startswith(f"{endpoint}/-/lfs/") and "sig=" in url


def test_files_a_drop_and_a_folder_committed_with_large_ones_through_lfs(
    endpoint, page, api, tmp_path, hf_home
):
    repo_id = api.create_repo("browser-upload").repo_id
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(50 * 1000 * 1000))
    notes = tmp_path / "notes.txt"
    notes.write_text("A small text file, committed inline.\n")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_text("first file of the folder\n")
    (folder / "b.bin").write_bytes(b"\x00\x01binary" * 100)  # small, but binary: LFS (basic)

    _upload_page(page, endpoint, repo_id, "alice")
    assert not serious_accessibility_violations(page)
    page.set_input_files("#upload-files", [str(big), str(notes)])
    page.set_input_files("#upload-folder-input", str(folder))
    page.evaluate(DROP_A_FILE, ["#upload-drop", "dropped.txt", "dropped on the zone\n"])
    expect(_rows(page)).to_have_count(5)
    names = sorted(page.locator("#upload-list .upload-name").all_inner_texts())
    assert names == ["big.bin", "data/a.txt", "data/b.bin", "dropped.txt", "notes.txt"]
    expect(page.locator('tr[data-path="big.bin"] .upload-size')).to_have_text("50.0 MB")
    expect(page.locator("#upload-count")).to_contain_text("5 files")
    page.get_by_label("Commit message").fill("Upload from the browser")
    page.get_by_label("Extended description (optional)").fill("Five files, one of 50 MB.")
    page.evaluate(WATCH_PROGRESS, 'tr[data-path="big.bin"] [role=progressbar]')
    sent: list[tuple[str, str]] = []
    page.on("request", lambda request: sent.append((request.method, request.url)))
    page.get_by_role("button", name="Commit changes").click()
    _wait_done(page)
    seen = page.evaluate("window.progressSeen")
    assert any(0 < value < 100 for value in seen) and seen[-1] == 100, seen
    # the bytes went to the signed LFS URLs, the big file in parts (6 of up to 8 MiB), not to the page
    # (on a bucket, the S3 pass, they are the bucket's presigned URLs: another origin)
    parts = [url for method, url in sent if method == "PUT" and _is_part(url)]
    assert len(parts) == 6 and all(_signed_for_this_storage(url, endpoint) for url in parts)
    completions = [url for method, url in sent if method == "POST" and "/complete?" in url]
    assert len(completions) == 1
    # and data/b.bin, small but binary, in one PUT (the basic transfer)
    singles = [url for method, url in sent if method == "PUT" and not _is_part(url)]
    assert len(singles) == 1 and _signed_for_this_storage(singles[0], endpoint)
    expect(page.locator("#upload-result")).to_contain_text("Committed")
    assert not serious_accessibility_violations(page)

    infos = {
        info.path: info
        for info in api.get_paths_info(
            repo_id,
            ["big.bin", "notes.txt", "data/a.txt", "data/b.bin", "dropped.txt"],
            expand=True,
        )
    }
    assert set(infos) == {"big.bin", "notes.txt", "data/a.txt", "data/b.bin", "dropped.txt"}
    assert infos["big.bin"].lfs is not None and infos["big.bin"].lfs.sha256 == _sha256(big)
    assert infos["big.bin"].size == 50 * 1000 * 1000
    assert infos["data/b.bin"].lfs is not None
    assert infos["notes.txt"].lfs is None and infos["dropped.txt"].lfs is None
    commit = api.list_repo_commits(repo_id)[0]
    assert commit.title == "Upload from the browser"
    assert "Five files, one of 50 MB." in commit.message
    downloaded = hf_hub_download(repo_id, "big.bin", endpoint=endpoint, cache_dir=hf_home)
    assert _sha256(Path(downloaded)) == _sha256(big)
    dropped = hf_hub_download(repo_id, "dropped.txt", endpoint=endpoint, cache_dir=hf_home)
    assert Path(dropped).read_text() == "dropped on the zone\n"
    a_txt = hf_hub_download(repo_id, "data/a.txt", endpoint=endpoint, cache_dir=hf_home)
    assert Path(a_txt).read_text() == "first file of the folder\n"

    page.get_by_role("link", name="the files on main").click()  # the result links the files
    page.wait_for_load_state()
    assert page.url == f"{endpoint}/{repo_id}/tree/main"
    expect(page.get_by_role("link", name="big.bin", exact=True)).to_be_visible()


def test_a_new_branch_gets_the_files_and_a_failed_commit_changes_nothing(
    endpoint, page, api, tmp_path, hf_home
):
    repo_id = api.create_repo("browser-branch").repo_id
    api.create_branch(repo_id, branch="taken")
    small = tmp_path / "small.txt"
    small.write_text("on a new branch\n")
    api.upload_file(path_or_fileobj=b"docs\n", path_in_repo="docs/index.txt", repo_id=repo_id)
    heads = {ref.name: ref.target_commit for ref in api.list_repo_refs(repo_id).branches}

    sign_in(page, endpoint, "alice", "alice-password", f"/{repo_id}/tree/main/docs")
    page.get_by_role("link", name="Upload files", exact=True).click()
    page.wait_for_load_state()
    assert page.url == f"{endpoint}/{repo_id}/upload/main/docs"
    expect(page.get_by_label("Folder in the repository (optional)")).to_have_value("docs")

    # a branch that exists is refused, with the hub's message, and nothing changes
    page.set_input_files("#upload-files", str(small))
    page.get_by_role("radio", name="Commit to a new branch").check()
    page.get_by_label("New branch name").fill("taken")
    page.get_by_role("button", name="Commit to the new branch").click()
    expect(page.locator("#upload-error")).to_contain_text("already exists", timeout=SLOW)
    # a card the hub refuses: the branch made for the commit is deleted again
    card = tmp_path / "README.md"
    card.write_text("---\nlicense: [not, a, string]\nlibrary_name: 12\n---\n# Card\n")
    page.get_by_label("Folder in the repository (optional)").fill("")
    page.set_input_files("#upload-files", str(card))
    page.get_by_label("New branch name").fill("bad-card")
    page.get_by_role("button", name="Commit to the new branch").click()
    expect(page.locator("#upload-error")).to_contain_text(
        "Invalid metadata in README.md", timeout=SLOW
    )
    assert {ref.name: ref.target_commit for ref in api.list_repo_refs(repo_id).branches} == heads

    page.get_by_role("button", name="Remove README.md").click()
    page.get_by_label("Folder in the repository (optional)").fill("docs")
    page.get_by_label("New branch name").fill("from-the-web")
    page.get_by_role("button", name="Commit to the new branch").click()
    _wait_done(page)
    assert not serious_accessibility_violations(page)
    branches = {ref.name for ref in api.list_repo_refs(repo_id).branches}
    assert branches == {"main", "taken", "from-the-web"}
    path = hf_hub_download(
        repo_id, "docs/small.txt", revision="from-the-web", endpoint=endpoint, cache_dir=hf_home
    )
    assert Path(path).read_text() == "on a new branch\n"
    assert "docs/small.txt" not in api.list_repo_files(repo_id)  # main is as it was
    page.get_by_role("link", name="the files on from-the-web").click()
    page.wait_for_load_state()
    assert page.url == f"{endpoint}/{repo_id}/tree/from-the-web/docs"


def test_a_reader_proposes_files_as_a_pull_request(endpoint, page, hub, tmp_path, hf_home):
    alice = HfApi(endpoint=endpoint, token=hub.tokens["alice"])
    repo_id = alice.create_repo("browser-proposals").repo_id
    proposal = tmp_path / "proposal.txt"
    proposal.write_text("bob's proposal\n")
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(2 * MiB))

    _upload_page(page, endpoint, repo_id, "bob")
    expect(page.get_by_role("radio")).to_have_count(1)  # a reader has one choice
    expect(page.get_by_role("radio", name="Open a pull request to main")).to_be_checked()
    assert not serious_accessibility_violations(page)
    page.set_input_files("#upload-files", [str(proposal), str(weights)])
    page.get_by_label("Commit message").fill("Add my files")
    page.get_by_label("Extended description (optional)").fill("Please merge.")
    page.get_by_role("button", name="Open a pull request").click()
    _wait_done(page)
    link = page.locator("#upload-result-link")
    expect(link).to_have_text(re.compile(r"Pull request #\d+"))

    (discussion,) = list(alice.get_repo_discussions(repo_id))
    assert discussion.is_pull_request and discussion.author == "bob"
    assert discussion.title == "Add my files"
    ref = f"refs/pr/{discussion.num}"
    path = hf_hub_download(
        repo_id, "proposal.txt", revision=ref, endpoint=endpoint, cache_dir=hf_home
    )
    assert Path(path).read_text() == "bob's proposal\n"
    (info,) = alice.get_paths_info(repo_id, ["weights.bin"], revision=ref)
    assert info.lfs is not None and info.lfs.sha256 == _sha256(weights)
    assert alice.list_repo_files(repo_id) == [".gitattributes"]  # main is untouched

    link.click()
    page.wait_for_load_state()
    assert page.url == f"{endpoint}/{repo_id}/discussions/{discussion.num}"

    # a reader cannot commit to the branch, even with the page's CSRF token
    page.goto(f"{endpoint}/{repo_id}/upload/main")
    token = page.locator("input[name=csrf_token]").first.input_value()
    answer = page.request.post(
        f"{endpoint}/{repo_id}/upload/main/-/commit?mode=direct",
        headers={"X-CSRF-Token": token, "Content-Type": "application/x-ndjson"},
        data='{"key":"header","value":{"summary":"sneaky"}}\n'
        '{"key":"file","value":{"path":"x.txt","content":"eA==","encoding":"base64"}}\n',
    )
    assert answer.status == 403, answer.text()
    assert alice.list_repo_files(repo_id) == [".gitattributes"]


def test_csrf_less_posts_are_refused_and_anonymous_visitors_sign_in(endpoint, page, api):
    repo_id = api.create_repo("browser-guarded").repo_id
    page.goto(f"{endpoint}/{repo_id}/upload/main")
    assert page.url == f"{endpoint}/login?next=/{repo_id}/upload/main"

    sign_in(page, endpoint, "alice", "alice-password", f"/{repo_id}/upload/main")
    assert page.url == f"{endpoint}/{repo_id}/upload/main"
    base = f"{endpoint}/{repo_id}/upload/main/-"
    preupload = {"files": [{"path": "a.txt", "size": 2, "sample": "aGkK"}]}
    commit = (
        '{"key":"header","value":{"summary":"forged"}}\n'
        '{"key":"file","value":{"path":"forged.txt","content":"aGkK","encoding":"base64"}}\n'
    )
    # the session cookie alone, without the page's token, authorizes nothing
    for route, body in (("preupload", preupload), ("lfs", {"objects": []}), ("commit", commit)):
        answer = page.request.post(f"{base}/{route}", data=body)
        assert answer.status == 403, (route, answer.text())
        forged = page.request.post(f"{base}/{route}", data=body, headers={"X-CSRF-Token": "x"})
        assert forged.status == 403, route
    assert api.list_repo_files(repo_id) == [".gitattributes"]
    token = page.locator("input[name=csrf_token]").first.input_value()
    answer = page.request.post(f"{base}/preupload", data=preupload, headers={"X-CSRF-Token": token})
    assert answer.status == 200 and answer.json()["files"][0]["uploadMode"] == "regular"
    # a token is no way in: these are the page's routes, for a browser's session
    bearer = httpx.post(
        f"{base}/preupload",
        json=preupload,
        headers={"Authorization": f"Bearer {api.token}", "X-CSRF-Token": token},
    )
    assert bearer.status_code == 403
    # uploads go to a branch: a tag or a missing branch has no upload page
    api.create_tag(repo_id, tag="v1")
    page.goto(f"{endpoint}/{repo_id}/upload/v1")
    expect(page.locator(".error-message")).to_contain_text("files are uploaded to a branch")
    # the script's hashing library is served, cacheable
    page.goto(f"{endpoint}/{repo_id}/upload/main")
    src = page.locator("script[src*='/-/static/hash-wasm/']").get_attribute("src")
    script = httpx.get(f"{endpoint}{src}")
    assert script.status_code == 200 and "createSHA256" in script.text
    assert "immutable" in script.headers["cache-control"]


def test_without_javascript_the_page_shows_the_command_that_uploads(endpoint, browser, api):
    repo_id = api.create_repo("browser-no-script", repo_type="dataset").repo_id
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, endpoint, "alice", "alice-password", f"/datasets/{repo_id}/upload/main")
        assert page.url == f"{endpoint}/datasets/{repo_id}/upload/main"
        expect(page.locator("#upload-form")).to_be_hidden()  # it needs the script
        command = f"hf upload --repo-type dataset {repo_id} ./local-folder . --revision main"
        expect(page.locator("noscript pre")).to_contain_text(command)
    finally:
        context.close()
