"""Responses carrying the bytes of a large file, wherever they are stored.

Bytes uploaded through LFS are a file in the blob store, sent by the server itself (zero-copy).
In a bucket (`stored_oid`), they are a redirect to a presigned URL of the bucket, as the Hub
redirects to its CDN (the metadata headers stay on the 302, where huggingface_hub reads them
for a redirect to another host), or, in proxy delivery, streamed from the bucket in pieces.
Bytes uploaded through Xet are rebuilt from their xorbs on the server, so that plain HTTP
clients (curl, git-lfs, HfFileSystem's ranged reads) get them like any other file.
"""

from __future__ import annotations

import functools
import os
import time
from email.utils import formatdate
from pathlib import Path

from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from hubstead.domain.byte_ranges import parse_range
from hubstead.domain.errors import HubError
from hubstead.hub import Hub
from hubstead.storage.blobstore import BlobMissing


def _head_of_blob(headers: dict[str, str], size: int, blob_stat: os.stat_result) -> Response:
    """A plain HEAD of a blob on this disk, answered from the cached stat: the headers
    FileResponse sends (length, type, Last-Modified; our ETag), without its per-request stat
    headers work. `from_pretrained` sends one of these for every file it needs."""
    return Response(
        status_code=200,
        headers={
            **headers,
            "Content-Length": str(size),
            "Last-Modified": _http_date(int(blob_stat.st_mtime)),
        },
        media_type="application/octet-stream",
    )


@functools.lru_cache(maxsize=1024)
def _http_date(seconds: int) -> str:
    return formatdate(seconds, usegmt=True)


def large_file_response(
    hub: Hub,
    request: Request,
    size: int,
    blob_path: Path | None,
    xet_hash: str | None,
    headers: dict[str, str],
    blob_stat: os.stat_result | None = None,
    stored_oid: str | None = None,
    filename: str | None = None,
) -> Response:
    """`blob_stat`: the blob's file status when the caller has it (the resolve cache keeps it;
    blob files never change), which spares starlette a stat in the thread pool: on a HEAD that
    thread hop is most of the answer's cost. `filename` names the attachment a bucket
    redirect answers with."""
    byte_range = parse_range(request.headers.get("range"), size)  # 416 in the Hub's error format
    if blob_path is not None:
        if request.method == "HEAD" and byte_range is None and blob_stat is not None:
            return _head_of_blob(headers, size, blob_stat)
        return FileResponse(
            blob_path,
            headers=headers,
            media_type="application/octet-stream",
            stat_result=blob_stat,
        )
    if stored_oid is not None:
        expires = int(time.time()) + hub.signer.ttl
        url = hub.blobs.presigned_url(stored_oid, None, expires, filename)
        if url is not None:
            return Response(status_code=302, headers={**headers, "Location": url})
    start, end = byte_range or (0, size)
    status = 206 if byte_range is not None else 200
    headers = {**headers, "Content-Length": str(end - start), "Accept-Ranges": "bytes"}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    if request.method == "HEAD" or size == 0:
        return Response(status_code=status, headers=headers, media_type="application/octet-stream")
    if stored_oid is not None:
        try:
            chunks = hub.blobs.iter_range(stored_oid, start, end)
        except BlobMissing:
            raise HubError("Object missing from storage", status=404) from None
    else:
        chunks = hub.xet.stream(xet_hash, size, start, end)
    return StreamingResponse(
        iterate_in_threadpool(chunks),
        status_code=status,
        headers=headers,
        media_type="application/octet-stream",
    )
