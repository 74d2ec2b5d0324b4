"""Bad input gets a clear 4xx in the Hub's error format and leaves the repository as it was."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from helpers import stored_sizes

# On the S3 pass the hub proxies transfers (HUBSTEAD_S3_DELIVERY=proxy): these tests exercise
# the hub's own signed LFS routes and ranged reads, here backed by the bucket (the presigned
# redirect delivery has tests of its own, tests/test_s3_storage.py).
HUB_ENV = {"HUBSTEAD_S3_DELIVERY": "proxy"}


@pytest.fixture(scope="module")
def repo(api: HfApi) -> str:
    repo_id = api.create_repo("guarded").repo_id
    api.upload_file(path_or_fileobj=b"keep me", path_in_repo="keep.txt", repo_id=repo_id)
    return repo_id


@pytest.fixture(scope="module")
def http(endpoint: str, hub):
    with httpx.Client(
        base_url=endpoint, headers={"Authorization": f"Bearer {hub.tokens['alice']}"}, timeout=60
    ) as client:
        yield client


def snapshot(api: HfApi, repo_id: str) -> tuple:
    """Everything a failed request must leave untouched."""
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    return (
        api.model_info(repo_id).sha,
        sorted(api.list_repo_files(repo_id)),
        sorted((b.name, b.target_commit) for b in refs.branches),
        sorted((t.name, t.target_commit) for t in refs.tags),
        len(refs.pull_requests or []),
    )


def assert_hub_error(
    response: httpx.Response, status: int, code: str | None = None, contains: str = ""
) -> None:
    assert response.status_code == status, response.text
    assert response.headers.get("x-error-message"), "every error carries X-Error-Message"
    assert response.headers.get("x-request-id")
    assert isinstance(response.json()["error"], str) and response.json()["error"]
    if code:
        assert response.headers["x-error-code"] == code
    if contains:
        assert contains in response.json()["error"]


def ndjson(*lines: dict) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def commit(
    http: httpx.Client, repo_id: str, *ops: dict, revision: str = "main", summary: str = "bad"
) -> httpx.Response:
    body = ndjson({"key": "header", "value": {"summary": summary, "description": ""}}, *ops)
    return http.post(
        f"/api/models/{repo_id}/commit/{revision}",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )


def add(path: str, content: bytes = b"x") -> dict:
    return {
        "key": "file",
        "value": {
            "path": path,
            "content": base64.b64encode(content).decode(),
            "encoding": "base64",
        },
    }


@pytest.mark.parametrize(
    "name",
    ["bad name", "a/b/c", "-leading", "double--dash", "dots..here", "x" * 97, "ends.git", ""],
)
def test_invalid_repo_names(http: httpx.Client, name: str):
    response = http.post("/api/repos/create", json={"name": name, "organization": None})
    assert_hub_error(response, 400)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../escape.txt", 422),
        ("a/../../b.txt", 422),
        ("/etc/passwd", 422),
        ("..\\ddd", 422),
        ("\\server\\x", 422),
        (".git/config", 400),
        ("sub/.git/hooks/x", 400),
        ("a//b.txt", 400),
        ("./", 400),
    ],
)
def test_invalid_paths_are_refused(
    http: httpx.Client, api: HfApi, repo: str, path: str, status: int
):
    """Escaping paths answer 422 as on the Hub (`..\\ddd` included), malformed ones 400."""
    before = snapshot(api, repo)
    assert_hub_error(
        commit(http, repo, add("fine.txt"), add(path)), status, contains="Invalid path"
    )
    response = http.post(
        f"/api/models/{repo}/preupload/main",
        json={"files": [{"path": path, "sample": "", "size": 1}]},
    )
    assert_hub_error(response, status)
    assert snapshot(api, repo) == before


@pytest.mark.parametrize("path", ["a\\b.txt", "folder/..\\..\\..\\file.txt", "dir\\sub/x.txt"])
def test_backslashes_are_ordinary_characters(api: HfApi, repo: str, path: str, tmp_path):
    """The Hub keeps `\\` inside a file name; only `/` separates folders."""
    from urllib.parse import quote

    from huggingface_hub import hf_hub_download

    api.upload_file(path_or_fileobj=path.encode(), path_in_repo=path, repo_id=repo)
    assert path in api.list_repo_files(repo)
    served = httpx.get(
        f"{api.endpoint}/{repo}/resolve/main/{quote(path)}",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert served.status_code == 200 and served.content == path.encode()
    if ".." in path.replace("\\", "/").split("/"):
        # the client guards local paths: it refuses to write such a name to disk
        with pytest.raises(ValueError, match="'..' path segment"):
            hf_hub_download(repo, path, endpoint=api.endpoint, token=api.token, cache_dir=tmp_path)
        return
    local = hf_hub_download(repo, path, endpoint=api.endpoint, token=api.token, cache_dir=tmp_path)
    with open(local, "rb") as handle:
        assert handle.read() == path.encode()


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all\n",
        b'{"key": "file", "value": {"path": "a.txt", "content": "", "encoding": "base64"}}\n',  # no header
        b'{"key": "header", "value": {"summary": ""}}\n',
        b'{"key": "header", "value": {"summary": "ok"}}\n{"key": "mystery", "value": {"path": "a"}}\n',
        b'{"key": "header", "value": {"summary": "ok"}}\n{"key": "file", "value": {"path": "a.txt", "content": "!!!", "encoding": "base64"}}\n',
        b'{"key": "header", "value": {"summary": "ok"}}\n{"key": "lfsFile", "value": {"path": "a.bin", "algo": "sha256", "oid": "xyz", "size": 1}}\n',
        b'{"key": "header", "value": {"summary": "ok", "parentCommit": "not-a-sha"}}\n',
        b"[1, 2, 3]\n",
    ],
)
def test_malformed_ndjson(http: httpx.Client, api: HfApi, repo: str, body: bytes):
    before = snapshot(api, repo)
    response = http.post(
        f"/api/models/{repo}/commit/main",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert_hub_error(response, 400, contains="")
    assert snapshot(api, repo) == before


def test_unknown_revision(http: httpx.Client, api: HfApi, repo: str):
    before = snapshot(api, repo)
    assert_hub_error(
        commit(http, repo, add("a.txt"), revision="no-such-branch"), 404, "RevisionNotFound"
    )
    for path in (
        f"/api/models/{repo}/revision/nope",
        f"/api/models/{repo}/tree/nope",
        f"/{repo}/resolve/nope/keep.txt",
        f"/api/models/{repo}/commits/nope",
    ):
        assert_hub_error(http.get(path), 404, "RevisionNotFound")
    assert snapshot(api, repo) == before


def test_missing_file_carries_the_commit(http: httpx.Client, api: HfApi, repo: str):
    response = http.head(f"/{repo}/resolve/main/missing.txt")
    assert response.status_code == 404
    assert response.headers["x-error-code"] == "EntryNotFound"
    assert response.headers["x-repo-commit"] == api.model_info(repo).sha


def test_deleting_a_missing_file(http: httpx.Client, api: HfApi, repo: str):
    before = snapshot(api, repo)
    response = commit(
        http, repo, add("new.txt"), {"key": "deletedFile", "value": {"path": "ghost.txt"}}
    )
    assert_hub_error(response, 404, "EntryNotFound", contains="A file with this name doesn't exist")
    assert snapshot(api, repo) == before


def test_file_and_folder_conflict(http: httpx.Client, api: HfApi, repo: str):
    before = snapshot(api, repo)
    assert_hub_error(commit(http, repo, add("keep.txt/inner.txt")), 400, contains="is a file")
    assert snapshot(api, repo) == before


def lfs_batch(http: httpx.Client, repo_id: str, oid: str, size: int) -> dict:
    response = http.post(
        f"/{repo_id}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": [{"oid": oid, "size": size}],
            "hash_algo": "sha256",
        },
        headers={"Accept": "application/vnd.git-lfs+json"},
    )
    assert response.status_code == 200, response.text
    return response.json()["objects"][0]


def test_lfs_object_with_wrong_bytes_or_size(http: httpx.Client, api: HfApi, repo: str):
    before = snapshot(api, repo)
    data = os.urandom(4096)
    oid = hashlib.sha256(data).hexdigest()
    href = lfs_batch(http, repo, oid, len(data))["actions"]["upload"]["href"]
    tampered = bytes([data[0] ^ 1]) + data[1:]
    response = httpx.put(href, content=tampered)
    assert_hub_error(response, 400, contains="hash")
    response = httpx.put(href, content=data[:-1])
    assert_hub_error(response, 400, contains="expected")
    response = httpx.put(href, content=data + b"extra")
    assert_hub_error(response, 400)
    # Nothing was stored, so a commit naming the object is refused.
    lfs_op = {
        "key": "lfsFile",
        "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(data)},
    }
    assert_hub_error(commit(http, repo, lfs_op), 400, contains="was not uploaded")
    assert snapshot(api, repo) == before
    # The right bytes succeed through the same URL, then verify and commit work.
    assert httpx.put(href, content=data).status_code == 200
    assert (
        http.post(
            f"/{repo}.git/info/lfs/objects/verify", json={"oid": oid, "size": len(data)}
        ).status_code
        == 200
    )
    assert_hub_error(
        http.post(f"/{repo}.git/info/lfs/objects/verify", json={"oid": oid, "size": 1}), 400
    )
    wrong_size = {
        "key": "lfsFile",
        "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(data) + 1},
    }
    assert_hub_error(commit(http, repo, wrong_size), 400, contains="has size")
    assert snapshot(api, repo) == before


def test_commit_naming_an_lfs_object_never_uploaded(http: httpx.Client, api: HfApi, repo: str):
    before = snapshot(api, repo)
    op = {
        "key": "lfsFile",
        "value": {"path": "ghost.bin", "algo": "sha256", "oid": "ab" * 32, "size": 10},
    }
    assert_hub_error(commit(http, repo, add("other.txt"), op), 400, contains="was not uploaded")
    assert snapshot(api, repo) == before


def test_object_of_another_repository_cannot_be_claimed(
    http: httpx.Client, api: HfApi, hub, repo: str
):
    """Knowing the hash of someone's object does not let you link it into your repository."""
    owner = HfApi(endpoint=hub.endpoint, token=hub.tokens["admin"])
    source = owner.create_repo("hidden-weights", private=True).repo_id
    data = os.urandom(3000)
    owner.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id=source)
    oid = hashlib.sha256(data).hexdigest()
    before = snapshot(api, repo)
    op = {
        "key": "lfsFile",
        "value": {"path": "stolen.bin", "algo": "sha256", "oid": oid, "size": len(data)},
    }
    assert_hub_error(commit(http, repo, op), 400, contains="was not uploaded")
    answer = lfs_batch(http, repo, oid, len(data))
    assert "upload" in answer["actions"], "the bytes must be sent again to this repository"
    assert snapshot(api, repo) == before


def _tamper(href: str, **changes: str) -> str:
    parts = urlparse(href)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunparse(parts._replace(query=urlencode(query)))


def test_forged_and_expired_signed_urls(http: httpx.Client, api: HfApi, repo: str):
    data = os.urandom(2048)
    oid = hashlib.sha256(data).hexdigest()
    href = lfs_batch(http, repo, oid, len(data))["actions"]["upload"]["href"]
    sig = parse_qs(urlparse(href).query)["sig"][0]
    forged = _tamper(href, sig=("0" if sig[0] != "0" else "1") + sig[1:])
    assert_hub_error(httpx.put(forged, content=data), 403, contains="Invalid signature")
    expired = _tamper(href, exp=str(int(time.time()) - 10))
    assert_hub_error(httpx.put(expired, content=data), 403, contains="expired")
    extended = _tamper(href, exp=str(int(time.time()) + 10**6))
    assert_hub_error(httpx.put(extended, content=data), 403, contains="Invalid signature")
    unsigned = href.split("?")[0] + f"?size={len(data)}"
    assert_hub_error(httpx.put(unsigned, content=data), 403)
    other_size = _tamper(href, size=str(len(data) + 1))
    assert_hub_error(httpx.put(other_size, content=data), 403)
    # A download URL can't be forged either.
    target = href.split("?")[0]
    assert_hub_error(httpx.get(target + f"?exp={int(time.time()) + 100}&sig=" + "a" * 64), 403)


def test_read_token_cannot_upload_lfs(endpoint: str, hub, repo: str):
    reader = httpx.Client(
        base_url=endpoint, headers={"Authorization": f"Bearer {hub.tokens['alice_read']}"}
    )
    response = reader.post(
        f"/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": "ab" * 32, "size": 1}]},
    )
    assert_hub_error(response, 403)


def test_range_requests(http: httpx.Client, api: HfApi, repo: str):
    data = bytes(range(256)) * 40
    api.upload_file(path_or_fileobj=data, path_in_repo="range.bin", repo_id=repo)
    api.upload_file(path_or_fileobj=b"0123456789", path_in_repo="digits.txt", repo_id=repo)
    for path, content in (("range.bin", data), ("digits.txt", b"0123456789")):
        size = len(content)
        response = http.get(f"/{repo}/resolve/main/{path}", headers={"Range": "bytes=2-5"})
        assert response.status_code == 206 and response.content == content[2:6]
        assert response.headers["content-range"] == f"bytes 2-5/{size}"
        response = http.get(f"/{repo}/resolve/main/{path}", headers={"Range": "bytes=-3"})
        assert response.status_code == 206 and response.content == content[-3:]
        response = http.get(f"/{repo}/resolve/main/{path}", headers={"Range": f"bytes={size}-"})
        assert response.status_code == 416
        assert response.headers["content-range"] == f"bytes */{size}"
        head = http.head(f"/{repo}/resolve/main/{path}")
        assert int(head.headers.get("x-linked-size") or head.headers["content-length"]) == size


def test_unknown_routes_and_methods(http: httpx.Client, repo: str):
    assert_hub_error(http.get("/api/models/just-one-segment"), 404, "RepoNotFound")
    assert_hub_error(http.get(f"/api/models/{repo}/no-such-thing"), 404)
    assert_hub_error(http.patch("/api/whoami-v2"), 405)


def test_invalid_token_is_refused(endpoint: str, repo: str):
    response = httpx.get(
        f"{endpoint}/api/models/{repo}", headers={"Authorization": "Bearer hf_forged"}
    )
    assert_hub_error(response, 401, contains="Invalid credentials in Authorization header")


def test_validate_yaml(http: httpx.Client, api: HfApi):
    ok = http.post(
        "/api/validate-yaml", json={"content": "---\nlicense: mit\n---\n# hi", "repoType": "model"}
    )
    assert ok.status_code == 200 and ok.json() == {"errors": [], "warnings": []}
    bad = http.post(
        "/api/validate-yaml", json={"content": "---\nlicense: [mit\n---\n# hi", "repoType": "model"}
    )
    assert bad.status_code == 400 and "invalid YAML" in bad.json()["errors"][0]["message"]
    repo_id = api.create_repo("bad-card").repo_id
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        api.upload_file(
            path_or_fileobj=b"---\nlicense: [mit\n---\n", path_in_repo="README.md", repo_id=repo_id
        )
    assert api.list_repo_files(repo_id) == [".gitattributes"]


def test_client_sees_server_messages(api: HfApi, repo: str):
    with pytest.raises(HfHubHTTPError) as error:
        api.create_commit(
            repo,
            [CommitOperationAdd("ok.txt", b"1")],
            commit_message="x",
            revision="missing-branch",
        )
    assert "Invalid rev id: missing-branch" in str(error.value)


def test_interrupted_lfs_upload_leaves_nothing(http: httpx.Client, api: HfApi, hub, repo: str):
    """A client that drops the connection mid-upload leaves no object and no temporary file."""
    data = os.urandom(4 * 1024 * 1024)
    oid = hashlib.sha256(data).hexdigest()
    href = lfs_batch(http, repo, oid, len(data))["actions"]["upload"]["href"]

    def interrupted():
        yield data[: 1024 * 1024]
        raise ConnectionAbortedError("client went away")

    with pytest.raises(ConnectionAbortedError):
        httpx.put(href, content=interrupted(), headers={"Content-Length": str(len(data))})
    tmp_dir = hub.data_dir / "blobs" / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)  # on the S3 pass the upload went to the bucket
    for _ in range(50):  # the server notices the disconnect asynchronously
        if not [p for p in tmp_dir.iterdir() if p.is_file()]:
            break
        time.sleep(0.1)
    assert [p for p in tmp_dir.iterdir() if p.is_file()] == []
    assert oid not in stored_sizes(hub, "sha256")
    assert "upload" in lfs_batch(http, repo, oid, len(data))["actions"]
    assert httpx.put(href, content=data).status_code == 200
