"""Large files in an S3 bucket (moto's server): presigned redirect downloads through
huggingface_hub, proxy delivery, LFS uploads straight to the bucket (single and multipart) that
count only once verified, Xet fetch URLs that grant one range, gc on the bucket, and
`hubstead storage migrate`.

The S3 server is the one scripts/test starts (HUBSTEAD_TEST_S3_ENDPOINT); without it this module
starts moto's server itself, so it runs on every pass. moto does not check request signatures:
what a signature grants is asserted on the signed URL and by recomputing it (SigV4)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url

from hubstead.testing import LiveHub, TestBucket

BACKEND = os.environ.get("HUBSTEAD_TEST_BACKEND", "sqlite")
MiB = 1024 * 1024
SMALL_PARTS = {
    "HUBSTEAD_LFS_MULTIPART_THRESHOLD": str(6 * MiB),
    "HUBSTEAD_LFS_MULTIPART_CHUNK_SIZE": str(5 * MiB),  # S3's smallest part
}


def _s3_hub(path: Path, endpoint: str, env: dict[str, str]) -> LiveHub:
    live = LiveHub(path, backend=BACKEND, env=env, storage="local")
    live.bucket = TestBucket(endpoint)
    return live.start()


@pytest.fixture(scope="module")
def s3hub(tmp_path_factory, s3_endpoint):
    live = _s3_hub(tmp_path_factory.mktemp("s3hub"), s3_endpoint, SMALL_PARTS)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def alice(s3hub) -> HfApi:
    return HfApi(endpoint=s3hub.endpoint, token=s3hub.tokens["alice"])


def _batch(hub: LiveHub, repo_id: str, operation: str, oid: str, size: int) -> dict:
    response = httpx.post(
        f"{hub.endpoint}/{repo_id}.git/info/lfs/objects/batch",
        json={
            "operation": operation,
            "transfers": ["basic", "multipart"],
            "objects": [{"oid": oid, "size": size}],
        },
        headers={"Authorization": f"Bearer {hub.tokens['alice']}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["objects"][0]


def _final_keys(hub: LiveHub) -> dict[str, int]:
    assert hub.bucket is not None
    return {k.rsplit("/", 1)[1]: v for k, v in hub.bucket.keys("sha256/").items()}


def test_presigned_redirect_download_through_huggingface_hub(s3hub, alice, tmp_path):
    repo_id = alice.create_repo("redirected").repo_id
    data = os.urandom(3 * MiB + 17)
    oid = hashlib.sha256(data).hexdigest()
    upload = _batch(s3hub, repo_id, "upload", oid, len(data))["actions"]["upload"]
    assert upload["href"].startswith(f"{s3hub.bucket.endpoint}/{s3hub.bucket.name}/hub/staging/")
    alice.upload_file(path_or_fileobj=data, path_in_repo="weights.bin", repo_id=repo_id)
    assert _final_keys(s3hub)[oid] == len(data)
    assert not s3hub.bucket.keys("staging/"), "verified uploads leave nothing staged"
    assert not (s3hub.data_dir / "blobs" / "sha256").exists(), "nothing on the hub's disk"

    url = hf_hub_url(repo_id, "weights.bin", endpoint=s3hub.endpoint)
    head = httpx.head(url, headers={"Authorization": f"Bearer {s3hub.tokens['alice']}"})
    assert head.status_code == 302
    assert head.headers["location"].startswith(f"{s3hub.bucket.endpoint}/{s3hub.bucket.name}/")
    assert head.headers["x-linked-etag"] == f'"{oid}"' == head.headers["etag"]
    assert head.headers["x-linked-size"] == str(len(data))
    commit = alice.model_info(repo_id).sha
    assert head.headers["x-repo-commit"] == commit
    metadata = get_hf_file_metadata(url, token=s3hub.tokens["alice"])
    assert (metadata.etag, metadata.size, metadata.commit_hash) == (oid, len(data), commit)
    assert metadata.location == head.headers["location"].split("?")[0] or (
        metadata.location.startswith(s3hub.bucket.endpoint)
    )
    path = hf_hub_download(
        repo_id, "weights.bin", endpoint=s3hub.endpoint, cache_dir=tmp_path / "c"
    )
    assert Path(path).read_bytes() == data
    ranged = httpx.get(url, headers={"Range": "bytes=10-19"}, follow_redirects=True)
    assert ranged.status_code == 206 and ranged.content == data[10:20]


def test_a_bucket_download_is_an_attachment_under_the_files_name(s3hub, alice):
    """Whatever the file (an .html here), the bucket answers the signed URL as a download of
    type application/octet-stream named after the file, so it never renders as a page."""
    repo_id = alice.create_repo("named-download").repo_id
    alice.upload_file(
        path_or_fileobj=b"*.html filter=lfs diff=lfs merge=lfs -text\n",
        path_in_repo=".gitattributes",
        repo_id=repo_id,
    )
    alice.upload_file(
        path_or_fileobj=b"<script>alert(1)</script>" * 50,
        path_in_repo='pages/résumé "v2".html',
        repo_id=repo_id,
    )
    (page,) = [f for f in alice.model_info(repo_id, files_metadata=True).siblings if f.lfs]
    assert page.rfilename == 'pages/résumé "v2".html'
    url = hf_hub_url(repo_id, 'pages/résumé "v2".html', endpoint=s3hub.endpoint)
    answer = httpx.get(url, follow_redirects=True)
    assert answer.history[0].status_code == 302
    assert answer.status_code == 200 and answer.content.startswith(b"<script>")
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="r_sum_ _v2_.html"; '
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.html"
    )


def test_the_pages_policy_lets_the_browser_reach_the_bucket(s3hub):
    """The web UI's uploads PUT to the bucket and its widgets load example files from it: an
    http endpoint (as here) is not covered by the policy's `https:`, so it is named."""
    page = httpx.get(f"{s3hub.endpoint}/models", headers={"Accept": "text/html"})
    policy = dict(
        (part.split()[0], part.split()[1:])
        for part in page.headers["content-security-policy"].split("; ")
    )
    for directive in ("connect-src", "img-src", "media-src"):
        assert s3hub.bucket.endpoint in policy[directive], policy[directive]
    assert s3hub.bucket.endpoint not in policy["script-src"]


def test_multipart_upload_goes_straight_to_the_bucket(s3hub, alice, tmp_path):
    repo_id = alice.create_repo("multipart").repo_id
    data = os.urandom(12 * MiB + 5)
    oid = hashlib.sha256(data).hexdigest()
    upload = _batch(s3hub, repo_id, "upload", oid, len(data))["actions"]["upload"]
    parts = {k: v for k, v in upload["header"].items() if k != "chunk_size"}
    assert upload["header"]["chunk_size"] == str(5 * MiB) and sorted(parts) == ["1", "2", "3"]
    assert all(
        u.startswith(f"{s3hub.bucket.endpoint}/{s3hub.bucket.name}/") for u in parts.values()
    )
    assert upload["href"].startswith(s3hub.endpoint), "completion goes to the hub"
    alice.upload_file(path_or_fileobj=data, path_in_repo="big.bin", repo_id=repo_id)
    assert _final_keys(s3hub)[oid] == len(data)
    path = hf_hub_download(repo_id, "big.bin", endpoint=s3hub.endpoint, cache_dir=tmp_path / "c")
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == oid


def test_a_wrong_upload_is_refused_and_leaves_nothing(s3hub, alice):
    repo_id = alice.create_repo("wrong-bytes").repo_id
    auth = {"Authorization": f"Bearer {s3hub.tokens['alice']}"}
    data = os.urandom(100_000)
    oid = hashlib.sha256(data).hexdigest()
    answer = _batch(s3hub, repo_id, "upload", oid, len(data))
    tampered = bytes([data[0] ^ 1]) + data[1:]
    assert httpx.put(answer["actions"]["upload"]["href"], content=tampered).status_code == 200
    verify = httpx.post(
        answer["actions"]["verify"]["href"], json={"oid": oid, "size": len(data)}, headers=auth
    )
    assert verify.status_code == 400 and "hash" in verify.json()["error"]
    assert oid not in _final_keys(s3hub) and not s3hub.bucket.keys("staging/")
    again = httpx.post(
        answer["actions"]["verify"]["href"], json={"oid": oid, "size": len(data)}, headers=auth
    )
    assert again.status_code == 404, "a refused upload does not count later either"

    # multipart: parts assembled in the bucket, then refused at completion
    big = os.urandom(11 * MiB)
    big_oid = hashlib.sha256(big).hexdigest()
    upload = _batch(s3hub, repo_id, "upload", big_oid, len(big))["actions"]["upload"]
    chunk = int(upload["header"]["chunk_size"])
    etags = []
    for number in (1, 2, 3):
        piece = big[(number - 1) * chunk : number * chunk]
        if number == 2:
            piece = piece[::-1]  # the right length, the wrong bytes
        put = httpx.put(upload["header"][str(number)], content=piece)
        assert put.status_code == 200
        etags.append({"partNumber": number, "etag": put.headers["etag"]})
    done = httpx.post(upload["href"], json={"oid": big_oid, "parts": etags})
    assert done.status_code == 400 and "hash" in done.json()["error"]
    assert big_oid not in _final_keys(s3hub) and not s3hub.bucket.keys("staging/")


def test_xet_fetch_urls_are_presigned_for_one_range(s3hub, s3_endpoint):
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from hubstead.storage.s3 import S3BlobStore

    bucket = s3hub.bucket
    store = S3BlobStore(bucket.name, "hub/", tmp_dir=s3hub.data_dir / "t", endpoint_url=s3_endpoint)
    xorb = "cd" * 32
    content = bytes(range(256)) * 4
    staged = store.tmp_dir / "xorb"
    staged.write_bytes(content)
    store.put_xorb_file(xorb, staged)
    url = store.presigned_xorb_url(xorb, (100, 200), int(time.time()) + 600)
    assert url is not None and url.startswith(f"{s3_endpoint}/{bucket.name}/hub/xorbs/cd/cd/")
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-SignedHeaders"] == ["host;range"]
    served = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert served.status_code == 206 and served.content == content[100:200]

    # SigV4 signs the Range header: the same URL's signature for another range is another
    # one, so S3 refuses the URL with any other Range (moto does not check; recomputed here)
    def signature_for(range_header: str) -> str:
        request = AWSRequest(method="GET", url=url.split("?")[0], headers={"Range": range_header})
        signed_at = dt.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
        credentials = Credentials(
            os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
        )
        signer = S3SigV4QueryAuth(credentials, "s3", "us-east-1", int(query["X-Amz-Expires"][0]))
        with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
            signer.add_auth(request)
        return parse_qs(urlparse(request.url).query)["X-Amz-Signature"][0]

    assert signature_for("bytes=100-199") == query["X-Amz-Signature"][0]
    assert signature_for("bytes=0-1023") != query["X-Amz-Signature"][0]
    store.delete_xorb(xorb)
    assert not store.xorb_exists(xorb)


def test_proxy_delivery_streams_from_the_bucket(tmp_path, s3_endpoint):
    live = _s3_hub(tmp_path / "proxy", s3_endpoint, {"HUBSTEAD_S3_DELIVERY": "proxy"})
    try:
        api = HfApi(endpoint=live.endpoint, token=live.tokens["alice"])
        repo_id = api.create_repo("proxied").repo_id
        data = os.urandom(2 * MiB + 3)
        oid = hashlib.sha256(data).hexdigest()
        href = _batch(live, repo_id, "upload", oid, len(data))["actions"]["upload"]["href"]
        assert href.startswith(live.endpoint), "in proxy delivery the hub takes the bytes"
        api.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id=repo_id)
        assert _final_keys(live)[oid] == len(data)
        url = hf_hub_url(repo_id, "w.bin", endpoint=live.endpoint)
        auth = {"Authorization": f"Bearer {live.tokens['alice']}"}
        head = httpx.head(url, headers=auth)
        assert head.status_code == 200 and head.headers["x-linked-size"] == str(len(data))
        assert httpx.get(url, headers=auth).content == data
        ranged = httpx.get(url, headers={**auth, "Range": "bytes=1000-1999"})
        assert ranged.status_code == 206 and ranged.content == data[1000:2000]
        assert ranged.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
        path = hf_hub_download(repo_id, "w.bin", endpoint=live.endpoint, cache_dir=tmp_path / "c")
        assert Path(path).read_bytes() == data
    finally:
        live.stop()


def _cli(hub: LiveHub, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **hub.server_env()}
    return subprocess.run(
        [sys.executable, "-m", "hubstead", *args], env=env, capture_output=True, text=True
    )


def test_gc_on_the_bucket(s3hub, alice):
    repo_id = alice.create_repo("doomed").repo_id
    data = os.urandom(50_000)
    oid = hashlib.sha256(data).hexdigest()
    alice.upload_file(path_or_fileobj=data, path_in_repo="d.bin", repo_id=repo_id)
    alice.delete_repo(repo_id)
    kept = _cli(s3hub, "gc")
    assert kept.returncode == 0 and "freed 0 bytes" in kept.stdout, kept.stderr
    assert oid in _final_keys(s3hub)
    # abandoned direct uploads: a staged object and a multipart upload never completed (made
    # after the first run: moto dates every multipart upload in 2010, older than any grace)
    client, name = s3hub.bucket.client, s3hub.bucket.name
    client.put_object(Bucket=name, Key="hub/staging/1-abandoned-3", Body=b"abc")
    client.create_multipart_upload(Bucket=name, Key="hub/staging/1-never-completed-9")
    time.sleep(1.1)  # LastModified has whole seconds
    result = _cli(s3hub, "gc", "--grace-seconds", "0")
    assert result.returncode == 0, result.stderr
    assert oid not in _final_keys(s3hub)
    assert "2 abandoned uploads" in result.stdout
    assert not s3hub.bucket.keys("staging/")
    assert not client.list_multipart_uploads(Bucket=name).get("Uploads")


def test_storage_migrate_moves_local_blobs_without_downtime(tmp_path, s3_endpoint):
    live = LiveHub(tmp_path / "migrating", backend=BACKEND, storage="local").start()
    try:
        api = HfApi(endpoint=live.endpoint, token=live.tokens["alice"])
        repo_id = api.create_repo("moving").repo_id
        files = {f"f{i}.bin": os.urandom(200_000 + i) for i in range(3)}
        for path, data in files.items():
            api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id)
        oids = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
        local = live.data_dir / "blobs" / "sha256"

        # the same installation, now configured with a bucket: it reads the local copies
        live.bucket = TestBucket(s3_endpoint)
        live.restart()

        def read(path: str) -> bytes:
            url = hf_hub_url(repo_id, path, endpoint=live.endpoint)
            auth = {"Authorization": f"Bearer {live.tokens['alice']}"}
            return httpx.get(url, headers=auth, follow_redirects=True).content

        assert all(read(path) == data for path, data in files.items())
        # an earlier, interrupted run had sent one object; another local copy is corrupt
        first = oids["f0.bin"]
        client, bucket = live.bucket.client, live.bucket.name
        client.put_object(
            Bucket=bucket, Key=f"hub/sha256/{first[:2]}/{first[2:4]}/{first}", Body=files["f0.bin"]
        )
        bad = oids["f2.bin"]
        (local / bad[:2] / bad[2:4] / bad).write_bytes(b"not the bytes")
        result = _cli(live, "storage", "migrate")
        assert result.returncode == 1, result.stdout + result.stderr
        assert (
            "moved 1 objects" in result.stdout and "1 were already in the bucket" in result.stdout
        )
        assert "1 refused" in result.stdout
        assert set(_final_keys(live)) == {oids["f0.bin"], oids["f1.bin"]}
        assert [p.name for p in local.rglob("*") if p.is_file()] == [bad], "only the refused one"
        # reads go on while objects move: the moved ones from the bucket, the other locally
        assert read("f0.bin") == files["f0.bin"] and read("f1.bin") == files["f1.bin"]
        # repaired, the run resumes and finishes
        (local / bad[:2] / bad[2:4] / bad).write_bytes(files["f2.bin"])
        again = _cli(live, "storage", "migrate")
        assert again.returncode == 0 and "moved 1 objects" in again.stdout, again.stdout
        assert set(_final_keys(live)) == set(oids.values())
        assert not [p for p in local.rglob("*") if p.is_file()]
        assert all(read(path) == data for path, data in files.items())
        live.restart()  # without local objects: the bucket alone
        assert all(read(path) == data for path, data in files.items())
    finally:
        live.stop()
