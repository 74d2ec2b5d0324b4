"""LFS objects and Xet xorbs in an S3-compatible bucket (AWS S3, MinIO, R2, Ceph, moto).

Keys under the configured prefix mirror the local layout: `sha256/ab/cd/<oid>` for LFS objects,
`xorbs/ab/cd/<hash>` for xorbs (Xet shards are parsed into the database, never stored), and
`staging/<repo>-<oid>-<size>` for direct uploads that are not verified yet.

Why boto3 rather than obstore: the hub needs presigned URLs for *numbered parts of a multipart
upload* (huggingface_hub's multipart protocol hands the client one URL per part) and presigned
GETs whose `Range` header is part of the signature (a Xet fetch URL must grant one range of a
xorb, which can hold other repositories' chunks); it also needs server-side copies of objects
over 5 GB (staging key → final key, which S3 only does as a multipart copy). boto3 does all
three (`generate_presigned_url` for any operation and header, the managed `copy`), obstore signs
plain GET/PUT URLs only. boto3 is synchronous; the hub calls it from worker threads, as it does
file I/O.

Reading never loads an object whole: ranged GETs are streamed in `READ_CHUNK` pieces. Writes
that come through the hub (proxy mode) are spooled to a local temporary file while hashed, so
nothing unverified reaches a final key. Direct uploads (`DirectUploads`) land under `staging/`
and count only once `promote` has streamed them through SHA-256 and copied them into place.

During a migration from the local data folder (`hubstead storage migrate`), `local` is the old
`LocalBlobStore`: reads prefer the local copy while it is still there, so nothing is unreadable
at any moment; writes and deletes go to the bucket (deletes to both).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from hubstead.domain.errors import BadRequest
from hubstead.storage.blobstore import (
    HASH_CHUNK,
    READ_CHUNK,
    BlobMissing,
    LocalBlobStore,
    ObjectMismatch,
    check_object,
    hash_chunks,
    hash_file,
    spool_verified,
)

MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}
DELIVERIES = ("redirect", "proxy")


def parse_storage_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix/"); the prefix may be empty."""
    if not url.startswith("s3://"):
        raise ValueError(f"Not an s3:// URL: {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"No bucket in {url!r}")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def make_client(endpoint_url: str | None) -> Any:
    """An S3 client: credentials and region from the standard AWS_* variables and files (boto3
    reads them); path-style addressing for a custom endpoint (MinIO and most non-AWS services
    have no per-bucket host names); checksums only where the API requires them (several
    S3-compatible services reject the newer default trailers)."""
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=32,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client("s3", endpoint_url=endpoint_url or None, config=config)


def _missing(error: ClientError) -> bool:
    info = error.response.get("Error", {})
    return str(info.get("Code")) in MISSING or error.response.get("ResponseMetadata", {}).get(
        "HTTPStatusCode"
    ) in (404,)


def attachment(filename: str | None) -> str:
    """A Content-Disposition that makes a browser save the bytes under the file's own name
    (RFC 6266: an ASCII fallback, then the UTF-8 name percent-encoded)."""
    if not filename:
        return "attachment"
    name = filename.rsplit("/", 1)[-1]
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _range(start: int, end: int) -> str:
    return f"bytes={start}-{end - 1}"


class S3BlobStore:
    """The BlobStore protocol on a bucket. `delivery` is "redirect" (clients are sent presigned
    URLs, uploads go straight to the bucket) or "proxy" (the hub streams the bytes both ways, for
    clients that cannot reach the bucket)."""

    remote = True

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        tmp_dir: Path,
        endpoint_url: str | None = None,
        delivery: str = "redirect",
        local: LocalBlobStore | None = None,
        client: Any = None,
    ):
        if delivery not in DELIVERIES:
            raise ValueError(f"Unknown delivery {delivery!r}: use one of {', '.join(DELIVERIES)}")
        self.bucket = bucket
        self.prefix = prefix
        self.delivery = delivery
        self.client = client or make_client(endpoint_url)
        self.local = local
        self.tmp_dir = tmp_dir
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.transfer = TransferConfig(
            multipart_threshold=64 * 1024 * 1024, multipart_chunksize=64 * 1024 * 1024
        )
        self.direct_uploads: S3DirectUploads | None = (
            S3DirectUploads(self) if delivery == "redirect" else None
        )
        self.browser_origin = self._signed_origin() if delivery == "redirect" else None

    def _signed_origin(self) -> str:
        """The origin of this bucket's presigned URLs (path or virtual-host style, whatever
        the client chose), from signing one: that is local work, no request."""
        params = {"Bucket": self.bucket, "Key": f"{self.prefix}origin"}
        url = urlsplit(self._presign("get_object", params, int(time.time()) + 60))
        return f"{url.scheme}://{url.netloc}"

    # -- keys ---------------------------------------------------------------------------------

    def key(self, oid: str) -> str:
        return f"{self.prefix}sha256/{oid[:2]}/{oid[2:4]}/{oid}"

    def xorb_key(self, xorb_hash: str) -> str:
        return f"{self.prefix}xorbs/{xorb_hash[:2]}/{xorb_hash[2:4]}/{xorb_hash}"

    def staging_key(self, name: str) -> str:
        return f"{self.prefix}staging/{name}"

    def head_size(self, key: str) -> int | None:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as error:
            if _missing(error):
                return None
            raise

    # -- LFS objects --------------------------------------------------------------------------

    def exists(self, oid: str) -> bool:
        return self.size(oid) is not None

    def size(self, oid: str) -> int | None:
        if self.local is not None and (size := self.local.size(oid)) is not None:
            return size
        return self.head_size(self.key(oid))

    def local_path(self, oid: str) -> Path | None:
        """Only while a migration has not moved the object yet."""
        return self.local.local_path(oid) if self.local is not None else None

    def presigned_url(
        self,
        oid: str,
        byte_range: tuple[int, int] | None,
        expires: int,
        filename: str | None = None,
    ) -> str | None:
        if self.delivery != "redirect" or self.local_path(oid) is not None:
            return None
        params = {
            "Bucket": self.bucket,
            "Key": self.key(oid),
            # signed into the URL, so the bucket answers with them whatever the object's own
            "ResponseContentType": "application/octet-stream",
            "ResponseContentDisposition": attachment(filename),
        }
        if byte_range is not None:
            params["Range"] = _range(*byte_range)
        return self._presign("get_object", params, expires)

    def _presign(self, operation: str, params: dict, expires: int) -> str:
        ttl = max(1, int(expires - time.time()))
        return str(self.client.generate_presigned_url(operation, Params=params, ExpiresIn=ttl))

    def read_range(self, oid: str, start: int, end: int) -> bytes:
        if self.local is not None and self.local.exists(oid):
            return self.local.read_range(oid, start, end)
        return b"".join(self._get(self.key(oid), oid, start, end))

    def iter_range(self, oid: str, start: int, end: int) -> Iterator[bytes]:
        """The GET is sent before this returns: a missing object raises BlobMissing here, not
        halfway through a response."""
        if self.local is not None and self.local.exists(oid):
            return self.local.iter_range(oid, start, end)
        return self._get(self.key(oid), oid, start, end)

    def _get(self, key: str, name: str, start: int, end: int) -> Iterator[bytes]:
        if end <= start:
            return iter(())
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key, Range=_range(start, end))[
                "Body"
            ]
        except ClientError as error:
            if _missing(error):
                raise BlobMissing(name) from None
            if error.response.get("Error", {}).get("Code") == "InvalidRange":
                return iter(())  # past the end: nothing, as a local read gives
            raise

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(READ_CHUNK)
            finally:
                body.close()

        return chunks()

    async def put_stream(self, oid: str, size: int, chunks: AsyncIterator[bytes]) -> None:
        """A proxied upload: spooled to a local temporary file while hashed (constant memory),
        sent to the bucket only once verified."""
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="upload-")
        tmp = Path(name)
        try:
            await spool_verified(fd, oid, size, chunks)
            await asyncio.to_thread(self._upload_file, tmp, self.key(oid))
        finally:
            tmp.unlink(missing_ok=True)

    def put_local_file(self, oid: str, size: int, source: Path) -> None:
        check_object(oid, size, *hash_file(source))
        self._upload_file(source, self.key(oid))
        source.unlink(missing_ok=True)

    def _upload_file(self, source: Path, key: str, extra: dict | None = None) -> None:
        self.client.upload_file(
            str(source), self.bucket, key, ExtraArgs=extra or None, Config=self.transfer
        )

    def delete(self, oid: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(oid))
        if self.local is not None:
            self.local.delete(oid)

    # -- Xet xorbs ----------------------------------------------------------------------------

    def xorb_exists(self, xorb_hash: str) -> bool:
        if self.local is not None and self.local.xorb_exists(xorb_hash):
            return True
        return self.head_size(self.xorb_key(xorb_hash)) is not None

    def xorb_local_path(self, xorb_hash: str) -> Path | None:
        return self.local.xorb_local_path(xorb_hash) if self.local is not None else None

    def presigned_xorb_url(
        self, xorb_hash: str, byte_range: tuple[int, int], expires: int
    ) -> str | None:
        """The Range header is signed (X-Amz-SignedHeaders=host;range): the URL fetches that
        range and nothing else of the xorb."""
        if self.delivery != "redirect" or self.xorb_local_path(xorb_hash) is not None:
            return None
        params = {
            "Bucket": self.bucket,
            "Key": self.xorb_key(xorb_hash),
            "Range": _range(*byte_range),
        }
        return self._presign("get_object", params, expires)

    def put_xorb_file(self, xorb_hash: str, verified: Path) -> None:
        """One PUT from the file (a xorb is at most 65 MiB): never held in memory whole."""
        with open(verified, "rb") as body:
            self.client.put_object(Bucket=self.bucket, Key=self.xorb_key(xorb_hash), Body=body)

    def delete_xorb(self, xorb_hash: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.xorb_key(xorb_hash))
        if self.local is not None:
            self.local.delete_xorb(xorb_hash)

    def read_xorb_range(self, xorb_hash: str, start: int, end: int) -> bytes:
        return b"".join(self.iter_xorb_range(xorb_hash, start, end))

    def iter_xorb_range(self, xorb_hash: str, start: int, end: int) -> Iterator[bytes]:
        if self.local is not None and self.local.xorb_exists(xorb_hash):
            return self.local.iter_xorb_range(xorb_hash, start, end)
        return self._get(self.xorb_key(xorb_hash), xorb_hash, start, end)

    # -- maintenance --------------------------------------------------------------------------

    def iter_keys(self, under: str) -> Iterator[dict]:
        """Objects under `prefix + under` (Key, Size, LastModified), paginated."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + under
        )
        for page in pages:
            yield from page.get("Contents", [])


@dataclass
class MigrationReport:
    moved: int = 0  # uploaded, verified, local copy removed
    skipped: int = 0  # already in the bucket with the right size (an earlier, interrupted run)
    bytes_moved: int = 0
    refused: list[str] = field(default_factory=list)  # local files whose bytes are not their name


def migrate_local(
    store: S3BlobStore, report: Callable[[str], None] = lambda _: None
) -> MigrationReport:
    """Move the objects of the local blobs folder (`store.local`) into the bucket.

    Resumable: an object already in the bucket with the local size is not sent again. Verified:
    an LFS object's local bytes must hash to its name before they are sent; every upload carries
    a SHA-256 checksum the service checks on arrival (per part for large ones), and the size in
    the bucket is checked before the local copy is removed. Reads never fail meanwhile: the
    store reads the local copy while there is one, and the bucket after."""
    result = MigrationReport()
    local = store.local
    if local is None:
        return result
    for kind, key_of in (("sha256", store.key), ("xorbs", store.xorb_key)):
        folder = local.root / kind
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name, size = path.name, path.stat().st_size
            key = key_of(name)
            if store.head_size(key) == size:
                result.skipped += 1
            else:
                if kind == "sha256" and hash_file(path)[0] != name:
                    result.refused.append(str(path))
                    report(f"refused {path}: its bytes do not hash to its name")
                    continue
                store._upload_file(path, key, {"ChecksumAlgorithm": "SHA256"})
                if store.head_size(key) != size:
                    raise RuntimeError(f"{key}: the bucket does not hold {size} bytes after upload")
                result.moved += 1
                result.bytes_moved += size
                report(f"moved {kind}/{name} ({size} bytes)")
            path.unlink(missing_ok=True)
        _remove_empty_folders(folder)
    return result


def _remove_empty_folders(folder: Path) -> None:
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        try:
            sub.rmdir()
        except OSError:
            pass  # not empty


class S3DirectUploads:
    """LFS uploads straight to the bucket: presigned PUTs (whole objects, or the numbered parts
    of a multipart upload) to a staging key, which `promote` verifies and copies into place.

    The staging name is `<repo>-<oid>-<size>`, so the verify or completion request finds it
    without state in the hub. Nothing under a final key is ever written by a client."""

    min_part_size = 5 * 1024 * 1024  # S3 refuses smaller parts but the last (EntityTooSmall)

    def __init__(self, store: S3BlobStore):
        self.store = store
        self.client = store.client

    def upload_url(self, name: str, expires: int) -> str:
        params = {"Bucket": self.store.bucket, "Key": self.store.staging_key(name)}
        return self.store._presign("put_object", params, expires)

    def start_multipart(self, name: str) -> str:
        answer = self.client.create_multipart_upload(
            Bucket=self.store.bucket, Key=self.store.staging_key(name)
        )
        return str(answer["UploadId"])

    def part_url(self, name: str, upload_id: str, number: int, expires: int) -> str:
        params = {
            "Bucket": self.store.bucket,
            "Key": self.store.staging_key(name),
            "UploadId": upload_id,
            "PartNumber": number,
        }
        return self.store._presign("upload_part", params, expires)

    def finish_multipart(self, name: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Assemble the uploaded parts (the client's ETags) into the staged object."""
        try:
            self.client.complete_multipart_upload(
                Bucket=self.store.bucket,
                Key=self.store.staging_key(name),
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise BadRequest(f"Multipart upload could not be completed: {code}") from None

    def promote(self, name: str, oid: str, size: int, on_verified: Callable[[], None]) -> bool:
        """Verify the staged object (size, then SHA-256 streamed in constant memory), copy it
        to its final key and call `on_verified` (the caller records the object); the staging key
        is removed after that, either way. False when nothing is staged: a concurrent request
        for the same upload may have promoted it (its `on_verified` ran before the removal).

        The copy names the ETag of the bytes that were hashed (CopySourceIfMatch): if the staged
        object is overwritten meanwhile, the copy fails instead of publishing unverified bytes."""
        store = self.store
        staging = store.staging_key(name)
        try:
            answer = self.client.get_object(Bucket=store.bucket, Key=staging)
        except ClientError as error:
            if _missing(error):
                return False
            raise
        etag = answer["ETag"]
        try:
            if int(answer["ContentLength"]) != size:
                answer["Body"].close()
                raise ObjectMismatch(
                    f"Object {oid}: received {answer['ContentLength']} bytes, expected {size}"
                )
            check_object(oid, size, *hash_chunks(answer["Body"].iter_chunks(HASH_CHUNK)))
            if store.head_size(store.key(oid)) != size:
                self._copy(staging, store.key(oid), etag, size)
            on_verified()
        finally:
            self.client.delete_object(Bucket=store.bucket, Key=staging)
        return True

    def _copy(self, staging: str, final: str, etag: str, size: int) -> None:
        """Server-side copy (multipart above 5 GB); a concurrent promotion of the same upload
        that got there first (it deletes the staging key) is not an error."""
        try:
            self.client.copy(
                {"Bucket": self.store.bucket, "Key": staging},
                self.store.bucket,
                final,
                ExtraArgs={"CopySourceIfMatch": etag},
                Config=self.store.transfer,
            )
        except ClientError:
            if self.store.head_size(final) != size:
                raise

    def sweep(self, cutoff: dt.datetime) -> int:
        """Remove staged objects and abort multipart uploads older than `cutoff` (abandoned
        uploads); returns how many."""
        store = self.store
        removed = 0
        for item in list(store.iter_keys("staging/")):
            if item["LastModified"] < cutoff:
                self.client.delete_object(Bucket=store.bucket, Key=item["Key"])
                removed += 1
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=store.bucket, Prefix=store.prefix + "staging/"
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    self.client.abort_multipart_upload(
                        Bucket=store.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        return removed
