"""Security headers: every page forbids inline scripts, plugins and framing; a repository's files
(an .html, an .svg, anything) never run script on the hub's origin.

In-process: the headers of pages and of /resolve (GET, HEAD, ranges, LFS), and no page carrying
what its policy would block (inline scripts, on* handlers, javascript: links). Live, in a real
browser: user files with scripts opened through /resolve and in the file viewer run nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html.parser import HTMLParser

import httpx
import pytest
from huggingface_hub import HfApi

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.testing import InProcessHub

HUB_ENV = {"HUBSTEAD_INFERENCE": "0"}
BROWSER = {"Accept": "text/html,application/xhtml+xml"}
REPO = "alice/files"
EVIL_HTML = (
    b"<!doctype html><html><head><title>a page</title></head><body><p>hello</p>"
    b"<script>window.pwned = 'html'; document.title = 'pwned';"
    b"try { localStorage.setItem('pwned', 'html') } catch (e) {}</script>"
    b'<img src="x" onerror="window.pwned = \'onerror\'"></body></html>'
)
EVIL_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" '
    b"onload=\"window.pwned = 'svg'; try { localStorage.setItem('pwned', 'svg') } catch (e) {}\">"
    b"<script>window.pwnedToo = 'svg script'</script>"
    b'<rect width="40" height="40" fill="teal"/></svg>'
)
CARD = b"---\nlicense: mit\n---\n# Files\n\nA model with $$x^2$$ math.\n"


def csp_directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: sources}."""
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _commit(client, files: dict[str, bytes], lfs: dict[str, str] | None = None) -> None:
    lines = [{"key": "header", "value": {"summary": "Files"}}]
    lines += [
        {
            "key": "file",
            "value": {
                "path": path,
                "encoding": "base64",
                "content": base64.b64encode(data).decode(),
            },
        }
        for path, data in files.items()
    ]
    lines += [{"key": "lfsFile", "value": value} for value in (lfs or {}).values()]
    answer = client.post(
        f"/api/models/{REPO}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert answer.status_code == 200, answer.text


def _upload_lfs(client, data: bytes) -> dict[str, object]:
    """Upload `data` through the LFS batch API; the commit line that names it."""
    oid, size = hashlib.sha256(data).hexdigest(), len(data)
    batch = client.post(
        f"/{REPO}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic"],
            "objects": [{"oid": oid, "size": size}],
        },
        headers={"Accept": "application/vnd.git-lfs+json"},
    )
    assert batch.status_code == 200, batch.text
    action = batch.json()["objects"][0]["actions"]["upload"]
    put = client.put(action["href"], content=data, headers=action.get("header", {}))
    assert put.status_code == 200, put.text
    verify = batch.json()["objects"][0]["actions"].get("verify")
    if verify:
        checked = client.post(verify["href"], json={"oid": oid, "size": size})
        assert checked.status_code == 200, checked.text
    return {"path": "big/page.html", "algo": "sha256", "oid": oid, "size": size}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> InProcessHub:
    hub = InProcessHub(tmp_path_factory.mktemp("headers"))
    hub.hub.repos.create(hub.principal("alice"), RepoType.MODEL, RepoId.parse(REPO), False)
    with hub.client("alice") as client:
        lfs = _upload_lfs(client, EVIL_HTML * 3)
        _commit(
            client,
            {"README.md": CARD, "page.html": EVIL_HTML, "drawing.svg": EVIL_SVG},
            {"big/page.html": lfs},
        )
    yield hub
    hub.close()


PAGES = [
    "/",
    "/models",
    "anonymous:/login",
    "/new",
    "/settings/tokens",
    f"/{REPO}",
    f"/{REPO}/tree/main",
    f"/{REPO}/blob/main/page.html",
    f"/{REPO}/blob/main/drawing.svg",
    f"/{REPO}/commits/main",
    f"/{REPO}/discussions",
    f"/{REPO}/discussions/new",
    f"/{REPO}/upload/main",
    f"/{REPO}/edit/main/README.md",
    f"/{REPO}/settings",
    "admin:/admin/users",
    "/alice/no-such-model",  # an error page
]


def _get_page(live: InProcessHub, page: str):
    """GET a page of PAGES, as alice unless it names another visitor (`anonymous:`, `admin:`)."""
    who, _, path = page.rpartition(":")
    with live.client({"": "alice", "anonymous": None}.get(who, who)) as client:
        return client.get(path, headers=BROWSER)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_security_headers(live: InProcessHub, path: str):
    page = _get_page(live, path)
    assert page.headers["content-type"].startswith("text/html"), path
    assert page.status_code == (404 if "no-such" in path else 200), page.text[:300]
    policy = csp_directives(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert (
        "'unsafe-inline'" not in policy["script-src"]
        and "'unsafe-eval'" not in policy["script-src"]
    )
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"


class _BlockedMarkup(HTMLParser):
    """What `script-src 'self'` would block in a page: inline scripts, on* handlers, javascript:
    URLs. JSON data blocks (<script type="application/json">) are data, never run."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not values.get("src") and values.get("type") != "application/json":
            self.blocked.append(f"inline <script> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=…> at line {self.getpos()[0]}")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.blocked.append(f"<{tag} {name}=javascript:…> at line {self.getpos()[0]}")


@pytest.mark.parametrize("path", PAGES)
def test_no_page_holds_what_its_policy_would_block(live: InProcessHub, path: str):
    page = _get_page(live, path)
    parser = _BlockedMarkup()
    parser.feed(page.text)
    assert parser.blocked == [], path


def test_the_file_viewer_shows_user_html_as_text_and_svg_as_a_picture(live: InProcessHub):
    with live.client("alice") as client:
        html = client.get(f"/{REPO}/blob/main/page.html", headers=BROWSER).text
        svg = client.get(f"/{REPO}/blob/main/drawing.svg", headers=BROWSER).text
    assert "window.pwned" in html and "<script>window.pwned" not in html  # escaped, as code
    assert f'<img src="/{REPO}/resolve/main/drawing.svg" alt="drawing.svg">' in svg
    assert "onload=" not in svg


@pytest.mark.parametrize("path", ["page.html", "drawing.svg", "big/page.html", "README.md"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_every_file_from_resolve_is_sandboxed_and_never_sniffed(
    live: InProcessHub, path: str, method: str
):
    with live.client("alice") as client:
        answer = client.request(method, f"/{REPO}/resolve/main/{path}", headers=BROWSER)
        ranged = client.request(
            method, f"/{REPO}/resolve/main/{path}", headers={"Range": "bytes=0-9"}
        )
    for response in (answer, ranged):
        if response.status_code == 302:  # on a bucket (the S3 pass): another origin's answer
            _check_bucket_answer(live, response, path)
            continue
        assert response.status_code in (200, 206), response.text[:200]
        policy = csp_directives(response.headers["content-security-policy"])
        assert policy["sandbox"] == [] and policy["default-src"] == ["'none'"]
        assert "script-src" not in policy  # default-src 'none' covers scripts
        assert response.headers["x-content-type-options"] == "nosniff"
        assert not response.headers["content-type"].startswith("text/html")
    assert ranged.status_code in (206, 302)
    if path == "drawing.svg":  # a picture (the file viewer's <img>), made safe by the sandbox
        assert answer.headers["content-type"] == "image/svg+xml"


def _check_bucket_answer(live: InProcessHub, redirect, path: str) -> None:
    """A redirect to a bucket leaves the hub's origin, and the bucket's answer is a download:
    an .html there saves as a file instead of rendering (the signed URL sets both headers)."""
    location = redirect.headers["location"]
    assert not location.startswith("http://hub.test"), location
    assert path.startswith("big/")  # only LFS objects live in the bucket
    # a GET whatever the method redirected: a HEAD's URL is the same, and the GET is what a tab
    # would render
    followed = httpx.get(location, headers={"Range": "bytes=0-9"})
    assert followed.status_code == 206, followed.text[:200]
    assert followed.headers["content-type"] == "application/octet-stream"
    disposition = followed.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="page.html"'), disposition
    assert followed.content == (EVIL_HTML * 3)[:10]


# -- in a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evil_files(hub) -> str:
    """A public repository holding an .html and an .svg that try to run script."""
    api = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"])
    repo = "alice/evil-files"
    api.create_repo(repo)
    for path, data in (("page.html", EVIL_HTML), ("drawing.svg", EVIL_SVG)):
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo)
    return repo


def _nothing_ran(tab) -> dict[str, object]:
    return tab.evaluate(
        "() => ({pwned: window.pwned ?? null, pwnedToo: window.pwnedToo ?? null,"
        " title: document.title})"
    )


@pytest.mark.parametrize("path", ["page.html", "drawing.svg"])
def test_user_files_opened_from_resolve_run_no_script(open_as, endpoint, evil_files, path):
    """A signed-in user opens a repository's .html or .svg in a tab: it shows, nothing runs,
    and the hub's origin (its storage, the session) was never reached."""
    tab = open_as("alice", "/")
    response = tab.goto(f"{endpoint}/{evil_files}/resolve/main/{path}")
    tab.wait_for_load_state("load")
    assert response.status == 200
    ran = _nothing_ran(tab)
    assert ran["pwned"] is None and ran["pwnedToo"] is None and ran["title"] != "pwned", ran
    assert csp_directives(response.headers["content-security-policy"])["sandbox"] == []
    assert response.headers["x-content-type-options"] == "nosniff"
    tab.goto(f"{endpoint}/")  # back on the hub's origin: nothing was stored there
    assert tab.evaluate("() => window.localStorage.getItem('pwned')") is None


@pytest.mark.parametrize("path", ["page.html", "drawing.svg"])
def test_the_file_viewer_runs_no_user_script(open_as, evil_files, path):
    tab = open_as("alice", f"/{evil_files}/blob/main/{path}")
    tab.wait_for_load_state("load")
    ran = _nothing_ran(tab)
    assert ran["pwned"] is None and ran["pwnedToo"] is None, ran
    assert tab.evaluate("() => window.localStorage.getItem('pwned')") is None
    if path.endswith(".svg"):  # shown as a picture, which cannot run script
        picture = tab.locator('img[alt="drawing.svg"]')
        assert picture.evaluate("img => img.complete && img.naturalWidth") == 40


def test_pages_under_the_policy_report_no_violation(open_as, endpoint, evil_files):
    """The policy blocks nothing the hub itself needs: the model page (card, math), the file
    viewer, the upload page (hash-wasm compiles WebAssembly) and the card editor load without a
    single CSP violation."""
    violations = []
    for path in (
        f"/{evil_files}",
        f"/{evil_files}/blob/main/page.html",
        f"/{evil_files}/upload/main",
        f"/{evil_files}/edit/main/README.md",
        "/settings/tokens",
        "/models",
    ):
        tab = open_as("alice", "/")
        tab.on(
            "console",
            lambda message, path=path: (
                violations.append((path, message.text))
                if "Content Security Policy" in message.text
                else None
            ),
        )
        tab.goto(f"{endpoint}{path}")
        tab.wait_for_load_state("networkidle")
    assert violations == []
