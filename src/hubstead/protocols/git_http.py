"""git smart-HTTP: `git clone`, `git fetch` and `git push` of any repository.

The real `git upload-pack` / `git receive-pack` do the pack negotiation (`--stateless-rpc`);
this module only authorises the request and streams bytes both ways. Pushes go through a
pre-receive hook that accepts branches and tags only and keeps the default branch, and git's
own fsck rejects malformed objects (`..`, `.git` entries). Refs changed by a push are written
to the refs cache afterwards.
"""

from __future__ import annotations

import asyncio
import os
import sys
import zlib
from typing import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hubstead.domain.errors import HubError, RepoNotFound
from hubstead.domain.repo_ids import RepoType
from hubstead.hub import Hub
from hubstead.protocols.http import URL_PREFIX, Router, authenticate, base_url, find_repo
from hubstead.services.repos import RepoHandle

router = Router()
GIT_REPO = rf"/{URL_PREFIX}(?P<ns>[^/]+)/(?P<name>[^/]+?)(?:\.git)?"
SERVICES = {"git-upload-pack": "download", "git-receive-pack": "write"}  # a clone carries every file
CHALLENGE = {"WWW-Authenticate": 'Basic realm="Hubstead"'}


def _open(hub: Hub, request: Request, prefix: str | None, ns: str, name: str, need: str) -> RepoHandle:
    principal = authenticate(hub, request.headers.get("authorization"))
    repo_type = RepoType.from_plural(prefix) if prefix else RepoType.MODEL
    try:
        return find_repo(hub, principal, repo_type, ns, name, need, base_url(hub, request))
    except HubError as error:
        if principal is None and error.status in (401, 403, 404):
            # git only sends credentials after a challenge; the answer is the same for a
            # private and a missing repository, so nothing leaks.
            raise RepoNotFound("Authentication required", status=401) from None
        raise


def _challenge(error: HubError) -> HubError:
    if error.status == 401:
        error.headers.update(CHALLENGE)
    return error


async def _handle(hub: Hub, request: Request, prefix: str | None, ns: str, name: str, service: str) -> RepoHandle:
    if service not in SERVICES:
        raise HubError("Only the smart HTTP protocol is supported", status=403)
    try:
        return await run_in_threadpool(_open, hub, request, prefix, ns, name, SERVICES[service])
    except HubError as error:
        raise _challenge(error) from None


def _pkt_line(text: str) -> bytes:
    data = text.encode()
    return f"{len(data) + 4:04x}".encode() + data


@router.route("GET", rf"{GIT_REPO}/info/refs")
async def info_refs(hub: Hub, request: Request, ns: str, name: str, prefix: str | None = None) -> Response:
    service = request.query_params.get("service", "")
    handle = await _handle(hub, request, prefix, ns, name, service)
    process = await asyncio.create_subprocess_exec(
        "git", service[4:], "--stateless-rpc", "--advertise-refs", str(handle.git.path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    advertisement, _ = await process.communicate()
    body = _pkt_line(f"# service={service}\n") + b"0000" + advertisement
    return Response(body, media_type=f"application/x-{service}-advertisement", headers={"Cache-Control": "no-cache"})


async def _request_body(request: Request) -> AsyncIterator[bytes]:
    """The request body, un-gzipped when git compressed it."""
    if request.headers.get("content-encoding", "").lower() == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        async for chunk in request.stream():
            yield inflater.decompress(chunk)
        yield inflater.flush()
    else:
        async for chunk in request.stream():
            yield chunk


@router.route("POST", rf"{GIT_REPO}/(?P<service>git-upload-pack|git-receive-pack)")
async def rpc(hub: Hub, request: Request, ns: str, name: str, service: str, prefix: str | None = None) -> Response:
    handle = await _handle(hub, request, prefix, ns, name, service)
    git = handle.git
    before = git.refs("refs/") if service == "git-receive-pack" else {}
    if service == "git-receive-pack":
        await run_in_threadpool(hub.git.prepare_for_push, handle.row.storage_key)
    env = {**os.environ, "HUBSTEAD_PYTHON": sys.executable, "HUBSTEAD_REPO_TYPE": handle.type.value,
           # the pre-receive hook checks pushed LFS pointers against this repository's objects
           "HUBSTEAD_REPO_ROW_ID": str(handle.row.id), "HUBSTEAD_DATABASE_URL": hub.settings.database_url,
           "HUBSTEAD_BLOBS_DIR": str(hub.settings.blobs_dir)}
    process = await asyncio.create_subprocess_exec(
        "git", service[4:], "--stateless-rpc", str(git.path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env,
    )

    async def feed() -> None:
        try:
            async for chunk in _request_body(request):
                process.stdin.write(chunk)
                await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            # git stopped reading (it had all it needed, or failed): its output says which
            pass
        finally:
            if not process.stdin.is_closing():
                process.stdin.close()

    # The whole request goes in before the response starts: the response machinery listens on
    # the same ASGI channel for disconnects, and git answers only after reading its input.
    feeder = asyncio.create_task(feed())
    try:
        await feeder
    except BaseException:
        await _stop(process)
        raise

    async def output() -> AsyncIterator[bytes]:
        try:
            while chunk := await process.stdout.read(64 * 1024):
                yield chunk
            await process.wait()
        finally:
            await _stop(process)
        if service == "git-receive-pack":
            await run_in_threadpool(_record_push, hub, handle, before)

    return StreamingResponse(output(), media_type=f"application/x-{service}-result", headers={"Cache-Control": "no-cache"})


async def _stop(process: asyncio.subprocess.Process) -> None:
    """End a git process that is still running (it may exit on its own at any moment)."""
    if process.returncode is None:
        try:
            process.kill()
        except ProcessLookupError:
            pass
    await process.wait()


def _record_push(hub: Hub, handle: RepoHandle, before: dict[str, str]) -> None:
    after = handle.store.open(handle.row.storage_key).refs("refs/")
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            hub.repos.record_ref(handle.row.id, f"refs/{name}", after.get(name))
