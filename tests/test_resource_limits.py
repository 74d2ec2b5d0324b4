"""Resource abuse (issue 14): what a caller can make the hub read, parse or hand out is bounded.

- Bodies: who the caller is and whether the route lets them in are decided before the body is
  read, so an anonymous or read-only caller is refused having sent next to nothing; a body past
  its route's cap is cut there with 413, and a spooled body keeps at most its in-memory part in
  memory. In-process, through the ASGI interface with a body that counts what was pulled, and
  once against the real server with httpx streaming a generator.
- Card metadata: its size (`HUBSTEAD_MAX_METADATA_BYTES`) and the values it may hold are capped,
  so validating a hostile card costs a bounded parse (400 with the reason).
- Safetensors headers: read up to `HUBSTEAD_MAX_SAFETENSORS_HEADER_BYTES` (past it the parameters
  are unknown), and a file's parameter counts are computed once per content, however many commits
  and old revisions show it.
- LFS: an object over `HUBSTEAD_MAX_LFS_OBJECT_BYTES` is refused in the batch answer, and a
  multipart upload never has more than `HUBSTEAD_MAX_LFS_PARTS` parts (the part size grows).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import struct
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.testing import TEST_STORAGE, InProcessHub

KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024
# The unit of the multipart tests: the smallest part the store takes (S3 refuses parts under
# 5 MiB but the last; the data folder takes any), so the same tests run on both.
PART = 5 * MiB if TEST_STORAGE == "s3" else MiB
# The live server's limits (the in-process hubs set theirs in Settings): multipart from PART,
# in parts of PART grown to keep at most 3 parts, objects of at most 8 PART.
HUB_ENV = {
    "HUBSTEAD_LFS_MULTIPART_THRESHOLD": str(PART),
    "HUBSTEAD_LFS_MULTIPART_CHUNK_SIZE": str(PART),
    "HUBSTEAD_MAX_LFS_PARTS": "3",
    "HUBSTEAD_MAX_LFS_OBJECT_BYTES": str(8 * PART),
}
REPO = "alice/limits"
COMMIT = f"/api/models/{REPO}/commit/main"
NDJSON = {"Content-Type": "application/x-ndjson"}


# --------------------------------------------------------------------------------- the hub


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[InProcessHub]:
    hub = InProcessHub(tmp_path_factory.mktemp("limits"))
    hub.hub.repos.create(hub.principal("alice"), RepoType.MODEL, RepoId.parse(REPO), False)
    _commit(hub, {"README.md": b"---\nlicense: mit\n---\n# Limits\n"})
    yield hub
    hub.close()


def _ndjson(files: dict[str, bytes], summary: str = "Files") -> bytes:
    lines = [{"key": "header", "value": {"summary": summary}}] + [
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
    return "\n".join(json.dumps(line) for line in lines).encode()


def _commit(live: InProcessHub, files: dict[str, bytes], repo: str = REPO) -> httpx.Response:
    with live.client("alice") as client:
        return client.post(
            f"/api/models/{repo}/commit/main", content=_ndjson(files), headers=NDJSON
        )


def _head(live: InProcessHub, repo: str = REPO) -> str:
    return live.hub.repos.get(RepoType.MODEL, RepoId.parse(repo), None).git.resolve("main")


# ------------------------------------------------------------------ bodies, through ASGI


@dataclass
class OfferedBody:
    """A request body of `total` bytes offered one chunk at a time, counting what the server
    pulled. Past `give_up` bytes the client hangs up: a server that reads everything is caught
    without sending gigabytes."""

    total: int
    give_up: int = 64 * MiB
    chunk: bytes = b"0" * (64 * KiB)
    pulled: int = 0

    def message(self) -> dict:
        if self.pulled >= self.give_up:
            return {"type": "http.disconnect"}
        size = min(len(self.chunk), self.total - self.pulled)
        self.pulled += size
        return {
            "type": "http.request",
            "body": self.chunk if size == len(self.chunk) else self.chunk[:size],
            "more_body": self.pulled < self.total,
        }


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def _asgi(
    live: InProcessHub, method: str, target: str, headers: dict[str, str], body: OfferedBody
) -> Answer:
    """Call the application as a server would: the body arrives only as the app pulls it."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("hub.test", 80),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return body.message()

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(live.app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Answer(
        start["status"], {k.decode(): v.decode("latin-1") for k, v in start["headers"]}, content
    )


def _auth(live: InProcessHub, who: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {live.tokens[who]}"} if who else {}


def _hub_error(answer: Answer, status: int) -> None:
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers["x-error-message"] == answer.json()["error"]


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("alice_read", 403), ("carol", 403)])
def test_a_caller_who_may_not_commit_is_refused_before_the_body(live, who, status):
    """3 GiB offered in chunks without a length: the refusal comes having read at most one chunk
    (it used to read 2 GiB into a spool file first)."""
    before = _head(live)
    body = OfferedBody(total=3 * GiB)
    answer = _asgi(live, "POST", COMMIT, {**NDJSON, **_auth(live, who)}, body)
    _hub_error(answer, status)
    assert body.pulled <= len(body.chunk)
    assert _head(live) == before


def test_an_anonymous_commit_declaring_a_huge_length_is_told_to_sign_in(live):
    """Authentication first, then the size: a stranger learns nothing about the route's cap."""
    body = OfferedBody(total=3 * GiB)
    headers = {**NDJSON, "Content-Length": str(3 * GiB)}
    _hub_error(_asgi(live, "POST", COMMIT, headers, body), 401)
    assert body.pulled == 0


def test_an_invalid_token_is_refused_before_the_body(live):
    body = OfferedBody(total=1 * GiB)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer hf_not_a_token"}
    answer = _asgi(live, "POST", "/api/repos/create", headers, body)
    _hub_error(answer, 401)
    assert body.pulled <= len(body.chunk)


def test_a_writer_declaring_a_length_over_the_cap_is_refused_unread(live):
    body = OfferedBody(total=3 * GiB)
    headers = {**NDJSON, **_auth(live, "alice"), "Content-Length": str(3 * GiB)}
    _hub_error(_asgi(live, "POST", COMMIT, headers, body), 413)
    assert body.pulled == 0


@pytest.fixture
def small_commit_cap(live) -> Iterator[int]:
    """The commit route's cap (2 GiB) lowered for a test: the code path is the same."""
    cap = 8 * MiB
    routes = live.app.router.routes
    index = next(i for i, r in enumerate(routes) if r.template.text == "/commit/{rev:rev}")
    original = routes[index]
    routes[index] = dataclasses.replace(
        original, body=dataclasses.replace(original.body, limit=cap)
    )
    yield cap
    routes[index] = original


def test_a_chunked_body_is_cut_at_the_cap_without_being_held_in_memory(live, small_commit_cap):
    """A writer's body without a length, far over the cap: 413 as soon as it passes the cap,
    and the part read was spooled (memory holds the spool's in-memory part, not the body)."""
    before = _head(live)
    body = OfferedBody(total=1 * GiB)
    tracemalloc.start()
    try:
        answer = _asgi(live, "POST", COMMIT, {**NDJSON, **_auth(live, "alice")}, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _hub_error(answer, 413)
    assert small_commit_cap < body.pulled <= small_commit_cap + len(body.chunk)
    assert peak < small_commit_cap // 2, (
        f"{peak} bytes held while reading an {small_commit_cap}-byte cap"
    )
    assert _head(live) == before


def test_a_commit_under_the_cap_still_lands(live, small_commit_cap):
    with live.client("alice") as client:
        answer = client.post(COMMIT, content=_ndjson({"ok.txt": b"ok"}), headers=NDJSON)
    assert answer.status_code == 200, answer.text
    assert answer.json()["commitOid"] == _head(live)


def test_a_body_that_ends_early_is_a_bad_request(live):
    """The client hangs up mid-body (or the server cannot read a bad chunk size): 400, not the
    500 of an unhandled error, and nothing lands."""
    before = _head(live)
    body = OfferedBody(total=1 * GiB, give_up=4 * MiB)
    answer = _asgi(live, "POST", COMMIT, {**NDJSON, **_auth(live, "alice")}, body)
    _hub_error(answer, 400)
    assert "ended early" in answer.json()["error"]
    assert _head(live) == before


def _batch(operation: str, size: int = 10) -> bytes:
    oid = hashlib.sha256(b"x").hexdigest()
    return json.dumps(
        {"operation": operation, "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]}
    ).encode()


def test_an_anonymous_lfs_upload_batch_is_refused_and_a_download_batch_answered(live):
    """The batch's need depends on its body (upload or download): the least it could need (to
    download) is checked before the body, the rest once the body says which."""
    url = f"/{REPO}.git/info/lfs/objects/batch"
    headers = {"Content-Type": "application/vnd.git-lfs+json"}
    with live.client() as client:
        upload = client.post(url, content=_batch("upload"), headers=headers)
        download = client.post(url, content=_batch("download"), headers=headers)
    assert upload.status_code == 401, upload.text
    assert download.status_code == 200, download.text
    assert download.json()["objects"][0]["error"]["code"] == 404


def test_a_private_repository_refuses_an_anonymous_batch_before_its_body(live):
    private = "alice/limits-private"
    live.hub.repos.create(live.principal("alice"), RepoType.MODEL, RepoId.parse(private), True)
    body = OfferedBody(total=1 * GiB)
    answer = _asgi(live, "POST", f"/{private}.git/info/lfs/objects/batch", {}, body)
    assert answer.status == 401
    assert body.pulled <= len(body.chunk)


# ----------------------------------------------------------------------- card metadata


def _card(block: str) -> str:
    return f"---\n{block}\n---\n# A card\n"


def _validate(live: InProcessHub, content: str, who: str | None = None) -> httpx.Response:
    with live.client(who) as client:
        return client.post("/api/validate-yaml", json={"content": content, "repoType": "model"})


def _mteb_like_results(count: int) -> str:
    """A model-index the size of a large MTEB card: `count` results of ten metrics each."""
    results = "".join(
        f"""  - task:
      type: Retrieval
    dataset:
      type: mteb/task-{number}
      name: MTEB Task{number} (en)
      config: en
      split: test
      revision: {hashlib.sha1(str(number).encode()).hexdigest()}
    metrics:
"""
        + "".join(f"    - type: ndcg_at_{k}\n      value: {k * 1.5:.3f}\n" for k in range(10))
        for number in range(count)
    )
    return f"license: mit\nmodel-index:\n- name: big\n  results:\n{results}"


def test_an_oversized_metadata_block_is_refused_before_it_is_parsed(live):
    """The probe's 1.2 MB block cost 16-40 s of CPU through validate-yaml, anonymously."""
    content = _card("license: mit\ntags:\n" + "".join(f"- tag{i}\n" for i in range(120_000)))
    assert len(content) > 1_200_000
    answer = _validate(live, content)
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert "bytes, more than the 524,288 this hub accepts" in error["message"]


def test_a_block_of_tiny_values_is_stopped_at_its_value_budget(live):
    """200 KB of `0,` is under the size cap but holds 100,000 values: the parse stops at the
    budget (one value per 6 bytes of the cap)."""
    content = _card("license: mit\nx: [" + "0," * 100_000 + "0]")
    assert len(content.encode()) < 512 * KiB
    answer = _validate(live, content)
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert "holds more than 87,381 values" in error["message"]


def test_a_large_real_card_is_still_accepted(live):
    """800 evaluation results of ten metrics (an MTEB card of 480 KiB) stay within both
    budgets."""
    content = _card(_mteb_like_results(800))
    assert 450 * KiB < len(content.encode()) < 512 * KiB
    answer = _validate(live, content, "alice")
    assert answer.status_code == 200, answer.text[:500]


def test_a_commit_with_an_oversized_card_is_refused_and_changes_nothing(live):
    before = _head(live)
    readme = _card("license: mit\nx: [" + "0," * 100_000 + "0]").encode()
    answer = _commit(live, {"README.md": readme})
    assert answer.status_code == 400
    assert "values" in answer.json()["error"]
    assert _head(live) == before


def test_the_metadata_size_is_a_setting(live, monkeypatch):
    card = _card("license: mit\ndescription: " + "a" * 4000)
    assert _validate(live, card).status_code == 200
    monkeypatch.setenv("HUBSTEAD_MAX_METADATA_BYTES", "2048")
    refused = _validate(live, card)
    assert refused.status_code == 400
    assert "more than the 2,048 this hub accepts" in refused.json()["errors"][0]["message"]
    assert _validate(live, _card("license: mit")).status_code == 200


# ------------------------------------------------------------------ safetensors headers

HEADER_CAP = 256 * KiB


@pytest.fixture(scope="module")
def weights_hub(tmp_path_factory) -> Iterator[InProcessHub]:
    """A hub reading safetensors headers up to 256 KiB (HUBSTEAD_MAX_SAFETENSORS_HEADER_BYTES)."""
    hub = InProcessHub(tmp_path_factory.mktemp("weights"), max_safetensors_header_bytes=HEADER_CAP)
    yield hub
    hub.close()


def _safetensors(tensors: dict[str, list[int]], padding: int = 0) -> bytes:
    """A safetensors file of F32 zeros; `padding` bytes of `__metadata__` make its header big."""
    header: dict = {"__metadata__": {"format": "pt", "padding": "x" * padding}}
    offset = 0
    for name, shape in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        header[name] = {
            "dtype": "F32",
            "shape": shape,
            "data_offsets": [offset, offset + 4 * count],
        }
        offset += 4 * count
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * offset


def _upload_lfs(live: InProcessHub, repo: str, files: dict[str, bytes]) -> str:
    """Upload files through the LFS batch and basic transfer, then commit them: the commit id."""
    with live.client("alice") as client:
        objects = [
            {"oid": hashlib.sha256(data).hexdigest(), "size": len(data)} for data in files.values()
        ]
        batch = client.post(
            f"/{repo}.git/info/lfs/objects/batch",
            json={"operation": "upload", "transfers": ["basic"], "objects": objects},
        )
        assert batch.status_code == 200, batch.text
        for answer, data in zip(batch.json()["objects"], files.values()):
            if "actions" in answer:
                put = client.put(answer["actions"]["upload"]["href"], content=data)
                assert put.status_code == 200, put.text
                verify = answer["actions"]["verify"]["href"]  # git-lfs's last step
                checked = client.post(verify, json={"oid": answer["oid"], "size": len(data)})
                assert checked.status_code == 200, checked.text
        lines = [{"key": "header", "value": {"summary": "Weights"}}] + [
            {"key": "lfsFile", "value": {"path": path, "algo": "sha256", **obj}}
            for path, obj in zip(files, objects)
        ]
        answer = client.post(
            f"/api/models/{repo}/commit/main",
            content="\n".join(json.dumps(line) for line in lines),
            headers=NDJSON,
        )
    assert answer.status_code == 200, answer.text
    return answer.json()["commitOid"]


def _new_repo(live: InProcessHub, name: str) -> str:
    live.hub.repos.create(live.principal("alice"), RepoType.MODEL, RepoId.parse(name), False)
    return name


def _info(live: InProcessHub, repo: str, revision: str | None = None) -> dict:
    path = f"/api/models/{repo}" + (f"/revision/{revision}" if revision else "")
    with live.client("alice") as client:
        answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_files_parameters_are_counted_once_whatever_the_revision(weights_hub):
    """A commit refreshes the card, and `model_info` at an old revision derives it again: both
    reuse the counts of a file they have seen (by its content), instead of reading its header."""
    counts = weights_hub.hub.cards.parameter_counts
    repo = _new_repo(weights_hub, "alice/counted")
    weights = _safetensors({"a": [10, 20], "b": [5]}, padding=200 * KiB)
    before = counts.headers_read
    first = _upload_lfs(weights_hub, repo, {"model.safetensors": weights})
    read = counts.headers_read
    assert read == before + 1  # the commit's card refresh read it, once
    assert _info(weights_hub, repo)["safetensors"] == {"parameters": {"F32": 205}, "total": 205}
    assert _commit(weights_hub, {"notes.txt": b"a later commit"}, repo).status_code == 200
    for _ in range(3):
        old = _info(weights_hub, repo, first)
        assert old["sha"] == first and old["safetensors"]["total"] == 205
    assert counts.headers_read == read  # the later commit and the old revision: all cached


def test_a_header_past_the_cap_leaves_the_parameters_unknown(weights_hub):
    """The format allows 100 MB headers (the probe's 42 MB one cost 6 s per commit): past the
    hub's cap the file is not parsed, model_info answers without parameters, never an error."""
    repo = _new_repo(weights_hub, "alice/big-header")
    big = _safetensors({"w": [4]}, padding=HEADER_CAP)
    small = _safetensors({"v": [3]})
    _upload_lfs(weights_hub, repo, {"big.safetensors": big, "small.safetensors": small})
    info = _info(weights_hub, repo)
    assert "safetensors" not in info  # one file unknown: no partial total
    assert any(s["rfilename"] == "big.safetensors" for s in info["siblings"])


def test_the_header_cap_stops_the_read_at_the_length(weights_hub):
    """Past the cap only the 8-byte length is read: the header itself is never fetched."""
    from hubstead.services.weights import ParameterCounts

    data = _safetensors({"w": [4]}, padding=2 * HEADER_CAP)
    asked: list[tuple[int, int]] = []

    def read(start: int, end: int) -> bytes:
        asked.append((start, end))
        return data[start:end]

    counts = ParameterCounts(max_header_bytes=HEADER_CAP)
    assert counts.of("lfs:big", len(data), read) is None
    assert asked == [(0, 8)]
    assert counts.of("lfs:big", len(data), read) is None  # unknown is remembered too
    assert asked == [(0, 8)] and counts.headers_read == 1


def test_a_header_with_impossible_shapes_counts_nothing(weights_hub):
    """A shape of 10^30 would overflow the listing's parameter column (the card's refresh failed
    on it): shapes that cannot fit in the file leave the parameters unknown."""
    repo = _new_repo(weights_hub, "alice/impossible")
    header = json.dumps({"w": {"dtype": "F32", "shape": [10**30], "data_offsets": [0, 4]}}).encode()
    data = struct.pack("<Q", len(header)) + header + b"\0" * 4
    commit = _upload_lfs(weights_hub, repo, {"model.safetensors": data})
    info = _info(weights_hub, repo)
    assert info["sha"] == commit and "safetensors" not in info


def test_the_safetensors_metadata_route_refuses_a_header_past_the_cap(weights_hub):
    repo = _new_repo(weights_hub, "alice/sharded-big")
    index = {"metadata": {}, "weight_map": {"w": "model-1.safetensors"}}
    _upload_lfs(
        weights_hub,
        repo,
        {
            "model.safetensors.index.json": json.dumps(index).encode(),
            "model-1.safetensors": _safetensors({"w": [4]}, padding=HEADER_CAP),
        },
    )
    with weights_hub.client("alice") as client:
        answer = client.get(f"/api/models/{repo}/safetensors-metadata/model.safetensors.index.json")
    assert answer.status_code == 413
    assert "more than the 262,144 this hub reads" in answer.json()["error"]


# ------------------------------------------------------------------------------------ LFS


def _batch_upload(live: InProcessHub, repo: str, size: int) -> dict:
    oid = hashlib.sha256(str(size).encode()).hexdigest()
    with live.client("alice") as client:
        answer = client.post(
            f"/{repo}.git/info/lfs/objects/batch",
            json={
                "operation": "upload",
                "transfers": ["basic", "multipart"],
                "objects": [{"oid": oid, "size": size}],
            },
        )
    assert answer.status_code == 200, answer.text
    (item,) = answer.json()["objects"]
    return item


def test_an_lfs_object_over_the_cap_is_refused_in_the_batch(live):
    """10^13 bytes used to get 100,000 part URLs; past 50 GB the object gets the batch API's
    error for an object it will not take."""
    item = _batch_upload(live, REPO, 10**13)
    assert "actions" not in item
    assert item["error"]["code"] == 422
    assert "larger than the 50,000,000,000 bytes this hub accepts" in item["error"]["message"]


def test_an_object_at_the_cap_is_offered_its_parts(live):
    item = _batch_upload(live, REPO, 50 * 1000**3)
    header = item["actions"]["upload"]["header"]
    parts = [key for key in header if key.isdigit()]
    assert len(parts) == -(-50 * 1000**3 // int(header["chunk_size"])) <= 10_000


@pytest.fixture(scope="module")
def parts_hub(tmp_path_factory) -> Iterator[InProcessHub]:
    """Multipart from PART in parts of PART, at most 4 parts (HUBSTEAD_MAX_LFS_PARTS)."""
    hub = InProcessHub(
        tmp_path_factory.mktemp("parts"),
        lfs_multipart_threshold=PART,
        lfs_multipart_chunk_size=PART,
        max_lfs_parts=4,
        max_lfs_object_bytes=10**13,
    )
    _new_repo(hub, "alice/parts")
    yield hub
    hub.close()


def test_the_part_size_grows_to_keep_the_part_count(parts_hub):
    item = _batch_upload(parts_hub, "alice/parts", 10**13)
    header = item["actions"]["upload"]["header"]
    assert len([key for key in header if key.isdigit()]) == 4
    assert int(header["chunk_size"]) * 4 >= 10**13


def test_an_upload_in_grown_parts_lands(parts_hub):
    """10 PART in at most 4 parts: parts of 2.5 PART rounded up to whole MiB (3 MiB; 13 MiB on
    S3), the last one shorter; sent as the client sends them, completed, verified and
    committed."""
    data = bytes(range(256)) * (10 * PART // 256)
    oid = hashlib.sha256(data).hexdigest()
    with parts_hub.client("alice") as client:
        batch = client.post(
            "/alice/parts.git/info/lfs/objects/batch",
            json={
                "operation": "upload",
                "transfers": ["basic", "multipart"],
                "objects": [{"oid": oid, "size": len(data)}],
            },
        ).json()
        upload = batch["objects"][0]["actions"]["upload"]
        chunk = int(upload["header"]["chunk_size"])
        assert chunk == -(-10 * PART // 4 // MiB) * MiB
        parts = []
        for number in range(1, 5):
            sent = client.put(
                upload["header"][str(number)], content=data[(number - 1) * chunk : number * chunk]
            )
            assert sent.status_code == 200, sent.text
            parts.append({"partNumber": number, "etag": sent.headers["etag"]})
        done = client.post(upload["href"], json={"oid": oid, "parts": parts})
        assert done.status_code == 200, done.text
        commit = client.post(
            "/api/models/alice/parts/commit/main",
            content="\n".join(
                json.dumps(line)
                for line in [
                    {"key": "header", "value": {"summary": "Parts"}},
                    {
                        "key": "lfsFile",
                        "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(data)},
                    },
                ]
            ),
            headers=NDJSON,
        )
        assert commit.status_code == 200, commit.text
        assert client.get("/alice/parts/resolve/main/w.bin", follow_redirects=True).content == data


# ------------------------------------------------------------------------ the real server


def _streamed_commit(endpoint: str, repo: str, token: str | None) -> tuple[int, int]:
    """POST 3 GiB to the commit route from a generator (chunked, no length): the status and how
    many bytes the client managed to hand over before the server answered and hung up."""
    pulled = 0

    def body() -> Iterator[bytes]:
        nonlocal pulled
        chunk = b"0" * (64 * KiB)
        while pulled < 3 * GiB:
            if pulled >= 256 * MiB:  # a server reading all of it fails the test, not the disk
                return
            pulled += len(chunk)
            yield chunk

    headers = {**NDJSON, **({"Authorization": f"Bearer {token}"} if token else {})}
    answer = httpx.post(
        f"{endpoint}/api/models/{repo}/commit/main", content=body(), headers=headers, timeout=60
    )
    return answer.status_code, pulled


def test_the_server_refuses_a_huge_body_having_read_next_to_nothing(hub, api):
    """Against granian: the refusal comes first and the connection closes, so what the client
    handed over is what the sockets' buffers took (a few MiB), not the route's 2 GiB cap."""
    api.create_repo("alice/streamed")
    for token, status in ((None, 401), (hub.tokens["alice_read"], 403)):
        answer, pulled = _streamed_commit(hub.endpoint, "alice/streamed", token)
        assert answer == status
        assert pulled < 64 * MiB, f"{pulled} bytes taken before the {status}"


def test_the_client_uploads_through_grown_parts(hub, api, tmp_path):
    """5 PART in parts of PART would take 5 parts, more than the 3 allowed: the batch offers
    three parts of 5/3 PART rounded up to whole MiB (2 MiB; 9 MiB on S3), and huggingface_hub
    uploads through them from `chunk_size`."""
    from huggingface_hub import hf_hub_download

    api.create_repo("alice/grown")
    data = bytes(range(256)) * (5 * PART // 256)
    source = tmp_path / "w.bin"
    source.write_bytes(data)
    api.upload_file(path_or_fileobj=str(source), path_in_repo="w.bin", repo_id="alice/grown")
    downloaded = hf_hub_download(
        "alice/grown",
        "w.bin",
        endpoint=hub.endpoint,
        token=hub.tokens["alice"],
        cache_dir=tmp_path / "cache",
    )
    assert Path(downloaded).read_bytes() == data
    batch = httpx.post(
        f"{hub.endpoint}/alice/grown.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "objects": [{"oid": hashlib.sha256(b"other").hexdigest(), "size": 5 * PART}],
        },
        headers={"Authorization": f"Bearer {hub.tokens['alice']}"},
    ).json()
    header = batch["objects"][0]["actions"]["upload"]["header"]
    assert header["chunk_size"] == str(-(-5 * PART // 3 // MiB) * MiB)
    assert sorted(key for key in header if key.isdigit()) == ["1", "2", "3"]


def test_the_client_is_told_an_object_is_too_large(api, tmp_path):
    api.create_repo("alice/too-large")
    source = tmp_path / "big.bin"
    source.write_bytes(b"\1" * (9 * PART))
    with pytest.raises(ValueError, match=f"larger than the {8 * PART:,} bytes this hub accepts"):
        api.upload_file(
            path_or_fileobj=str(source), path_in_repo="big.bin", repo_id="alice/too-large"
        )
    assert [f.rfilename for f in api.list_repo_tree("alice/too-large")] == [".gitattributes"]
