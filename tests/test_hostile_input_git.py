"""Hostile input that needs git or a real server (issue 14): API commits are held to git's fsck
rules, so a clone that checks every object (`transfer.fsckObjects`) still works and the paths
fsck refuses are refused with 400 by the API too; malformed bodies on the git routes (not gzip,
a bad chunk size) get a 400 from the real server; NUL in text is refused before PostgreSQL
sees it. The in-process corpus is test_hostile_input.py."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import httpx
import pygit2
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from helpers import git_environment
from hubstead.domain.errors import InvalidPath
from hubstead.domain.paths import (
    HFS_IGNORED,
    check_git_file,
    names_git_file,
    names_git_folder,
    validate_path,
)

CHECKED = ["-c", "transfer.fsckObjects=true", "-c", "fetch.fsckObjects=true"]
# Names that are `.git` to some file system, and names near them that are not.
REFUSED = [
    ".GIT",
    ".Git",
    "git~1",
    "GIT~1",
    ".git.",
    ".git ",
    ".git. .",
    ".git::$INDEX_ALLOCATION",
    ".git:stream",
    *[f".g{char}it" for char in sorted(HFS_IGNORED)],
    "\ufeff.git",
    ".git\u200c",
    "docs\\.git",
    "a\\git~1",
    ".git\\x",
]
GIT_FILES = [
    ".gitmodules",
    ".GITMODULES",
    ".gitmodules.",
    ".gitmodules :x",
    ".g\u200citmodules",
    "GITMOD~1",
    "gitmod~4",
    "gi7eba~1",
    "gi7eb~12",
    "~1234567",
    ".gitattributes",
    ".GitAttributes  ",
    ".git\ufeffattributes",
    "GITATT~1",
    "gi7d29~9",
    "a\\.gitmodules",
]
ALLOWED = [
    ".gitignore",
    ".gitattributes",
    ".github",
    ".gitx",
    "git~2",
    "git~1x",
    "x.git",
    ".g\u00efit",
    ".g\u200bit",  # a zero-width space is not among the code points HFS+ ignores
    "a\\b",
    "a:b",
    "git",
    ".gi",
    "gitmod~5",
    "gi7eba~0",
    "gi7eba~1x",
    ".gitmodules-old",
    "a\\.gitattributes",
    ".mailmap",
]


def _fsck_refuses(tmp_path: Path, name: str, folder: bool = True, content: bytes = b"") -> bool:
    """Whether `git fsck --strict` (what receive.fsckObjects and transfer.fsckObjects run)
    refuses a commit holding `name` as a folder (or a file of `content`). The trees are written
    as raw objects: libgit2 would refuse to build some of them."""
    repo = pygit2.init_repository(tmp_path / f"oracle-{len(list(tmp_path.iterdir()))}", bare=True)
    if folder:
        inner = repo.create_blob(b"[core]\n")
        entry = (
            b"40000",
            repo.odb.write(pygit2.GIT_OBJECT_TREE, b"100644 config\0" + inner.raw).raw,
        )
    else:
        entry = (b"100644", repo.create_blob(content).raw)
    tree = repo.odb.write(
        pygit2.GIT_OBJECT_TREE, entry[0] + b" " + name.encode() + b"\0" + entry[1]
    )
    signature = pygit2.Signature("Alice", "alice@example.com", 1_700_000_000, 0)
    repo.create_commit("refs/heads/main", signature, signature, "x\n", tree, [])
    checked = subprocess.run(
        ["git", "fsck", "--strict", "--no-dangling"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return checked.returncode != 0


@pytest.mark.parametrize("name", REFUSED + ALLOWED, ids=ascii)
def test_the_rule_is_the_one_git_fsck_applies(tmp_path, name):
    """`names_git_folder` answers what git's own fsck answers, name by name (git is the oracle:
    the rule is ours, the verdict must be git's)."""
    assert names_git_folder(name) == (name in REFUSED)
    if names_git_file(name) is None:  # fsck also refuses those as folders, for their own reason
        assert names_git_folder(name) == _fsck_refuses(tmp_path, name)


@pytest.mark.parametrize("name", GIT_FILES + ALLOWED, ids=ascii)
def test_git_files_cannot_be_folders_as_fsck_says(tmp_path, name):
    """A folder named `.gitmodules` or `.gitattributes`, as any file system spells them, fails
    fsck (`gitmodulesBlob`, `gitattributesBlob`): the API refuses such paths."""
    assert (names_git_file(name) is not None) == (name in GIT_FILES)
    if not names_git_folder(name):
        assert (names_git_file(name) is not None) == _fsck_refuses(tmp_path, name)
    if name in GIT_FILES:
        with pytest.raises(InvalidPath, match="cannot be a folder"):
            validate_path(f"{name}/config")
        assert validate_path(f"sub/{name}") == f"sub/{name}"  # a file of that name is fine


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (".gitattributes", b"a" * 2047),
        (".gitattributes", b"a" * 2048),
        (".gitattributes", b"*.bin filter=lfs\n" + b"b" * 2047 + b"\r\n"),
        (".gitattributes", b"x\x00" + b"a" * 3000),
        (".GITATTRIBUTES", b"a" * 3000),
        ("GITATT~1", b"a" * 3000),
        ("notes.txt", b"a" * 3000),
    ],
    ids=lambda value: ascii(value)[:30],
)
def test_a_gitattributes_fsck_refuses_is_refused(tmp_path, name, content):
    """fsck refuses a `.gitattributes` with a line of 2048 bytes or more (`gitattributesLineLength`)."""
    refused = _fsck_refuses(tmp_path, name, folder=False, content=content)
    try:
        check_git_file(f"sub/{name}", content)
    except InvalidPath:
        assert refused
    else:
        assert not refused


@pytest.fixture(scope="module")
def repo(api: HfApi) -> str:
    repo_id = api.create_repo("fsck-checked").repo_id
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd(path_in_repo=path, path_or_fileobj=f"{path}\n".encode())
            for path in [
                "README.md",
                ".gitignore",
                ".github/workflows/ci.yml",
                "git~2/x.txt",
                "folder/..\\..\\file.txt",
                "dir\\sub/x.txt",
                "x.git/y.txt",
                ".g\u200bit/zero-width-space.txt",
            ]
        ],
        commit_message="Names near .git",
    )
    return repo_id


def _clone(hub, repo_id: str, target: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = git_environment(tmp_path / "git-home")
    host = hub.endpoint.removeprefix("http://")
    return subprocess.run(
        ["git", *CHECKED, "clone", f"http://{host}/{repo_id}", str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "path", [".GIT/config", "git~1/config", ".git./x", ".git /x", ".g\u200cit/config", "a\x01b"]
)
def test_the_api_refuses_what_fsck_refuses_and_clones_stay_checkable(
    hub, api: HfApi, repo: str, path: str, tmp_path: Path
):
    """The paths of the issue, through the real client: a 400 (BadRequestError), nothing
    committed, and a clone with `transfer.fsckObjects` still works (`.g\\u200cit/config` used
    to be accepted, and then made every such clone fail)."""
    head = api.model_info(repo).sha
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_commit(
            repo,
            [
                CommitOperationAdd(path_in_repo="fine.txt", path_or_fileobj=b"fine\n"),
                CommitOperationAdd(path_in_repo=path, path_or_fileobj=b"[core]\n"),
            ],
            commit_message="Hostile path",
        )
    assert refused.value.response.status_code == 400
    assert "Invalid path" in refused.value.response.headers["x-error-message"]
    assert api.model_info(repo).sha == head
    assert "fine.txt" not in api.list_repo_files(repo)
    cloned = _clone(hub, repo, tmp_path / "clone", tmp_path)
    assert cloned.returncode == 0, cloned.stderr
    assert (tmp_path / "clone" / "dir\\sub" / "x.txt").read_text() == "dir\\sub/x.txt\n"


def _raw_request(hub, head: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (a malformed chunked body cannot be sent through httpx)."""
    with socket.create_connection(("127.0.0.1", hub.port), timeout=60) as connection:
        connection.sendall(head.encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(65536)
        status_line, _, rest = answer.partition(b"\r\n")
        header_block, _, content = rest.partition(b"\r\n\r\n")
        fields = [line.decode().split(": ", 1) for line in header_block.split(b"\r\n") if line]
        headers = {name.lower(): value for name, value in fields}
        while len(content) < int(headers.get("content-length", "0")):
            content += connection.recv(65536)
    return int(status_line.split()[1]), headers, content


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("chunked", b"zz\r\nabc\r\n0\r\n\r\n"),  # a chunk size that is not hexadecimal
        ("chunked", b"ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),  # one past any length
        ("gzip", b"0032want " + b"0" * 40 + b"\n0000"),  # says gzip, is not
    ],
    ids=["bad-chunk-size", "huge-chunk-size", "not-gzip"],
)
def test_a_malformed_git_body_is_a_400(hub, repo: str, encoding: str, body: bytes):
    """The real server reports a malformed chunked body as a disconnect; both it and a body
    that is not the gzip it says it is were a 500 on git-upload-pack."""
    framing = (
        "Transfer-Encoding: chunked\r\n"
        if encoding == "chunked"
        else f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n"
    )
    status, headers, content = _raw_request(
        hub,
        f"POST /{repo}.git/git-upload-pack HTTP/1.1\r\nHost: hub\r\n"
        "Content-Type: application/x-git-upload-pack-request\r\n"
        f"{framing}Connection: close\r\n\r\n",
        body,
    )
    assert status == 400, content
    assert json.loads(content)["error"] == headers["x-error-message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/models?search=a%00b", None),
        ("GET", "/api/models?author=%00", None),
        ("GET", "/api/models?filter=%00", None),
        ("GET", "/api/datasets?search=%00", None),
        ("GET", "/api/models/alice/fsck-checked/discussions?search=%00", None),
        ("POST", "/api/models/alice/fsck-checked/discussions", {"title": "a\x00bc"}),
        ("POST", "/api/repos/create", {"name": "nul\x00"}),
    ],
    ids=lambda value: str(value)[:50],
)
def test_nul_never_reaches_the_database(hub, repo: str, method: str, path: str, body):
    """PostgreSQL refuses NUL in text: a search or a title with one was a 500 there."""
    with httpx.Client(
        base_url=hub.endpoint, headers={"Authorization": f"Bearer {hub.tokens['alice']}"}
    ) as client:
        answer = client.request(
            method,
            path,
            content=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == answer.headers["x-error-message"]


def test_a_branch_name_too_long_for_a_file_is_refused(api: HfApi, repo: str):
    """A 300-character branch name was answered "already exists" (409): git could not write
    its ref file. It names nothing a file system can hold: 400, and no branch appears."""
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_branch(repo, branch="b" * 300)
    assert refused.value.response.status_code == 400
    assert [b.name for b in api.list_repo_refs(repo).branches] == ["main"]
