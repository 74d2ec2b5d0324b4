"""The blob store behind its protocol, the settings read from the environment, and the one
signing scheme (LFS URLs, Xet tokens, Xet fetch URLs). Plain unit tests: no server."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from pathlib import Path

import pytest

from hubstead.domain.errors import Forbidden, Unauthorized
from hubstead.rendering.math import MathSettings
from hubstead.services.signing import UrlSigner
from hubstead.services.xet import XetTokens
from hubstead.settings import (
    HookSettings,
    Settings,
    SettingsError,
    hook_environment,
    math_settings_from_env,
)
from hubstead.storage.blobstore import (
    BlobMissing,
    BlobStore,
    LocalBlobStore,
    ObjectMismatch,
    open_blob_store,
)


async def _chunks(*parts: bytes):
    for part in parts:
        yield part


def test_local_blob_store_through_the_protocol(tmp_path: Path):
    store: BlobStore = open_blob_store("local", tmp_path / "blobs")
    assert isinstance(store, LocalBlobStore)
    data = bytes(range(256)) * 5000
    oid = hashlib.sha256(data).hexdigest()
    assert not store.exists(oid) and store.size(oid) is None and store.local_path(oid) is None
    with pytest.raises(BlobMissing):
        store.read_range(oid, 0, 10)
    with pytest.raises(BlobMissing):
        list(store.iter_range(oid, 0, 10))
    with pytest.raises(ObjectMismatch):
        asyncio.run(store.put_stream(oid, len(data), _chunks(data[:-1], b"x")))
    assert not store.exists(oid)

    asyncio.run(store.put_stream(oid, len(data), _chunks(data[:1000], data[1000:])))
    assert store.exists(oid) and store.size(oid) == len(data)
    assert store.read_range(oid, 10, 20) == data[10:20]
    assert store.read_range(oid, len(data) - 5, len(data) + 100) == data[-5:]
    assert b"".join(store.iter_range(oid, 3, len(data) - 3)) == data[3:-3]
    assert store.local_path(oid) is not None and store.local_path(oid).read_bytes() == data
    assert store.presigned_url(oid, None, int(time.time()) + 60) is None
    store.delete(oid)
    assert not store.exists(oid)

    xorb = "ab" * 32
    assert not store.xorb_exists(xorb) and store.xorb_local_path(xorb) is None
    staged = store.tmp_dir / "xorb"
    staged.write_bytes(b"chunk bytes")
    store.put_xorb_file(xorb, staged)
    assert not staged.exists()  # moved, not copied
    assert store.xorb_exists(xorb) and store.read_xorb_range(xorb, 6, 11) == b"bytes"
    assert store.presigned_xorb_url(xorb, (0, 5), int(time.time()) + 60) is None
    store.delete_xorb(xorb)
    assert store.xorb_local_path(xorb) is None
    with pytest.raises(ValueError):
        open_blob_store("gs://bucket", tmp_path / "other")


def test_settings_come_from_the_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("HUBSTEAD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUBSTEAD_SECRET_KEY", "k")
    for name in ("BLOB_STORE", "QUIET", "STORAGE_URL", "S3_ENDPOINT_URL", "S3_DELIVERY"):
        monkeypatch.delenv(f"HUBSTEAD_{name}", raising=False)
    settings = Settings.from_env()
    assert settings.blob_store == "local" and settings.quiet is False
    assert (settings.storage_url, settings.s3_delivery) == ("", "redirect")
    monkeypatch.setenv("HUBSTEAD_QUIET", "1")
    assert Settings.from_env().quiet is True
    # the retired HUBSTEAD_BLOB_STORE: "local" still works, anything else says what replaces it
    monkeypatch.setenv("HUBSTEAD_BLOB_STORE", "local")
    assert Settings.from_env().storage_url == ""
    monkeypatch.setenv("HUBSTEAD_BLOB_STORE", "s3")
    with pytest.raises(SettingsError, match="HUBSTEAD_BLOB_STORE.*HUBSTEAD_STORAGE_URL"):
        Settings.from_env()
    monkeypatch.delenv("HUBSTEAD_BLOB_STORE")
    monkeypatch.setenv("HUBSTEAD_STORAGE_URL", "s3://models/hub")
    monkeypatch.setenv("HUBSTEAD_S3_ENDPOINT_URL", "http://minio:9000")
    monkeypatch.setenv("HUBSTEAD_S3_DELIVERY", "proxy")
    settings = Settings.from_env()
    assert (settings.storage_url, settings.s3_endpoint_url, settings.s3_delivery) == (
        "s3://models/hub",
        "http://minio:9000",
        "proxy",
    )
    assert settings.blob_store == "s3"
    for name, value in (("STORAGE_URL", "/srv/blobs"), ("S3_DELIVERY", "cdn")):
        monkeypatch.setenv(f"HUBSTEAD_{name}", value)
        with pytest.raises(SettingsError, match=f"HUBSTEAD_{name}"):
            Settings.from_env()
        monkeypatch.setenv("HUBSTEAD_STORAGE_URL", "s3://models")
    monkeypatch.delenv("HUBSTEAD_STORAGE_URL")
    monkeypatch.delenv("HUBSTEAD_S3_DELIVERY")
    # nginx's internal location for the blobs folder: off unless named, and named as a path
    monkeypatch.delenv("HUBSTEAD_ACCEL_REDIRECT", raising=False)
    assert Settings.from_env().accel_redirect is None
    monkeypatch.setenv("HUBSTEAD_ACCEL_REDIRECT", "/_hubstead/blobs/")
    assert Settings.from_env().accel_redirect == "/_hubstead/blobs/"
    for wrong in ("_hubstead/blobs/", "/_hubstead/blobs", "/a b/", "/x?y/"):
        monkeypatch.setenv("HUBSTEAD_ACCEL_REDIRECT", wrong)
        with pytest.raises(SettingsError, match="HUBSTEAD_ACCEL_REDIRECT"):
            Settings.from_env()
    monkeypatch.delenv("HUBSTEAD_ACCEL_REDIRECT")

    monkeypatch.setenv("HUBSTEAD_NODE", "/opt/node/bin/node")
    monkeypatch.setenv("HUBSTEAD_NODE_MODULES", str(tmp_path / "nm"))
    assert math_settings_from_env() == MathSettings("/opt/node/bin/node", tmp_path / "nm")


def test_the_hook_reads_back_what_the_server_hands_it(monkeypatch, tmp_path: Path):
    settings = Settings(data_dir=tmp_path, database_url="sqlite:///x.db", secret_key="k")
    env = hook_environment(settings, "dataset", 42)
    for name in list(env):
        if name.startswith("HUBSTEAD_"):
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if name.startswith("HUBSTEAD_"):
            monkeypatch.setenv(name, value)
    assert HookSettings.from_env() == HookSettings(
        "dataset", 42, "sqlite:///x.db", "", None, tmp_path / "blobs"
    )
    monkeypatch.delenv("HUBSTEAD_REPO_ROW_ID")
    assert HookSettings.from_env().repo_row_id is None


def test_xet_tokens_and_fetch_urls_use_the_url_signer():
    signer = UrlSigner("secret", 3600)
    tokens = XetTokens(signer)
    token, expires = tokens.issue_token(7, "write")
    assert token.startswith("xet_") and expires > time.time()
    checked = tokens.check_token(f"Bearer {token}", "write")
    assert (checked.repo_row_id, checked.scope, checked.expires) == (7, "write", expires)

    body, signature = token[4:].rsplit(".", 1)
    other_repo = (
        base64.urlsafe_b64encode(json.dumps([8, "write", expires]).encode()).decode().rstrip("=")
    )
    for forged in (
        f"xet_{other_repo}.{signature}",
        f"xet_{body}.{'0' * 64}",
        "xet_!!.ab",
        f"xet_{body}.é",
    ):
        with pytest.raises(Unauthorized, match="Invalid"):
            tokens.check_token(f"Bearer {forged}", "read")
    with pytest.raises(Unauthorized, match="required"):
        tokens.check_token(None, "read")
    read, _ = tokens.issue_token(7, "read")
    with pytest.raises(Forbidden, match="read access only"):
        tokens.check_token(f"Bearer {read}", "write")
    old = int(time.time()) - 10
    stale_body = (
        base64.urlsafe_b64encode(json.dumps([7, "read", old]).encode()).decode().rstrip("=")
    )
    stale = f"xet_{stale_body}.{signer.sign('xet-token', 7, 'read', expires=old)[1]}"
    with pytest.raises(Unauthorized, match="Expired"):
        tokens.check_token(f"Bearer {stale}", "read")
    with pytest.raises(Unauthorized):
        XetTokens(UrlSigner("another secret", 3600)).check_token(f"Bearer {token}", "read")

    xorb, exp = "cd" * 32, int(time.time()) + 60
    sig = tokens.sign_fetch(xorb, "0-99", exp)
    tokens.check_fetch(xorb, "0-99", str(exp), sig, "bytes=0-99")
    with pytest.raises(Forbidden, match="grants bytes 0-99 only"):
        tokens.check_fetch(xorb, "0-99", str(exp), sig, "bytes=0-100")
    # a signature for another purpose (an LFS download of the same name) is not a fetch grant
    lfs_sig = signer.sign("download", xorb, "0-99", expires=exp)[1]
    with pytest.raises(Forbidden, match="Invalid signature"):
        tokens.check_fetch(xorb, "0-99", str(exp), lfs_sig, "bytes=0-99")
