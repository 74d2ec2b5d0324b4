"""git smart-HTTP: `git clone`, `git fetch` and `git push` of any repository.

The real `git upload-pack` / `git receive-pack` do the pack negotiation (`--stateless-rpc`);
this module only authorises the request and streams bytes both ways. Pushes go through a
pre-receive hook that accepts branches and tags only and keeps the default branch, and git's
own fsck rejects malformed objects (`..`, `.git` entries). Refs changed by a push are written
to the refs cache afterwards.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from hubstead.domain.errors import HubError, RepoNotFound
from hubstead.hub import Hub
from hubstead.protocols.http import Ctx
from hubstead.protocols.routing import Router
from hubstead.protocols.urls import GIT
from hubstead.services import access
from hubstead.services.access import Need
from hubstead.services.principal import Principal
from hubstead.services.repos import RepoHandle
from hubstead.settings import hook_environment
from hubstead.storage.gitrepo import CommitInfo, GitRepo

router = Router()
SERVICES = {
    "git-upload-pack": Need.DOWNLOAD,  # a clone carries every file
    # a push proposes at least: the hook refuses branches and tags to those who may not write,
    # and lets a pull request's author push to its refs/pr/N (as on the Hub)
    "git-receive-pack": Need.UPLOAD,
}
CHALLENGE = {"WWW-Authenticate": 'Basic realm="Hubstead"'}


def _service(ctx: Ctx, params: dict[str, str]) -> str:
    return params.get("service") or ctx.query.get("service", "")


def _need(ctx: Ctx, params: dict[str, str]) -> Need:
    service = _service(ctx, params)
    if service not in SERVICES:
        raise HubError("Only the smart HTTP protocol is supported", status=403)
    return SERVICES[service]


def _refusal(ctx: Ctx, error: HubError) -> HubError:
    """git only sends credentials after a challenge: an anonymous caller refused for any reason
    is asked for them, with the same answer for a private and a missing repository (nothing
    leaks); bad credentials are challenged again."""
    try:
        anonymous = ctx.principal is None
    except HubError:
        anonymous = False  # the credentials themselves were refused
    if anonymous and error.status in (401, 403, 404):
        error = RepoNotFound("Authentication required", status=401)
    if error.status == 401:
        error.headers.update(CHALLENGE)
    return error


def _pkt_line(text: str) -> bytes:
    data = text.encode()
    return f"{len(data) + 4:04x}".encode() + data


@router.repo_route("GET", "/info/refs", form=GIT, need=_need, refusal=_refusal)
async def info_refs(ctx: Ctx) -> Response:
    service = ctx.query.get("service", "")
    handle = ctx.repo
    process = await asyncio.create_subprocess_exec(
        "git",
        service[4:],
        "--stateless-rpc",
        "--advertise-refs",
        str(handle.git.path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    advertisement, _ = await process.communicate()
    body = _pkt_line(f"# service={service}\n") + b"0000" + advertisement
    return Response(
        body,
        media_type=f"application/x-{service}-advertisement",
        headers={"Cache-Control": "no-cache"},
    )


async def _request_body(request: Request) -> AsyncIterator[bytes]:
    """The request body, un-gzipped when git compressed it. A body that says it is gzip and is
    not, or a malformed chunked body (which the server reports as a disconnect), is the
    client's error: 400, not a 500."""
    gzipped = request.headers.get("content-encoding", "").lower() == "gzip"
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    try:
        async for chunk in request.stream():
            yield inflater.decompress(chunk) if inflater is not None else chunk
        if inflater is not None:
            yield inflater.flush()
    except zlib.error:
        raise HubError("The request body is not valid gzip", status=400) from None
    except ClientDisconnect:
        raise HubError(
            "The request body ended early or is malformed (a bad chunk size, a cut connection)",
            status=400,
        ) from None


@router.repo_route(
    "POST", "/(?P<service>git-upload-pack|git-receive-pack)", form=GIT, need=_need, refusal=_refusal
)
async def rpc(ctx: Ctx, service: str) -> Response:
    """Both directions stream: the request into git's stdin, git's stdout into the response."""
    hub, request, handle = ctx.hub, ctx.request, ctx.repo
    git = handle.git
    before = git.refs("refs/") if service == "git-receive-pack" else {}
    if service == "git-receive-pack":
        await run_in_threadpool(hub.git.prepare_for_push, handle.row.storage_key)
    principal = ctx.principal
    env = await run_in_threadpool(_hook_environment, hub, handle, principal, service)
    process = await asyncio.create_subprocess_exec(
        "git",
        service[4:],
        "--stateless-rpc",
        str(git.path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
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
            await run_in_threadpool(_record_push, hub, handle, principal, before)

    return StreamingResponse(
        output(),
        media_type=f"application/x-{service}-result",
        headers={"Cache-Control": "no-cache"},
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    """End a git process that is still running (it may exit on its own at any moment)."""
    if process.returncode is None:
        try:
            process.kill()
        except ProcessLookupError:
            pass
    await process.wait()


def _hook_environment(
    hub: Hub, handle: RepoHandle, principal: Principal | None, service: str
) -> dict[str, str]:
    """git's environment, with the pusher's rights for the pre-receive hook (HookSettings)."""
    if service != "git-receive-pack":
        return hook_environment(hub.settings, handle.type.value, handle.row.id)
    return hook_environment(
        hub.settings,
        handle.type.value,
        handle.row.id,
        may_write=access.can_write(principal, handle.row.namespace),
        pull_requests=hub.discussions.pushable_pull_requests(handle, principal),
    )


def _record_push(
    hub: Hub, handle: RepoHandle, principal: Principal | None, before: dict[str, str]
) -> None:
    """Note the refs a push moved, and the commits it added to pull requests' timelines.

    git moved the refs itself (receive-pack's own compare-and-swap); they are read and recorded
    under the repository's ref lock, so what is recorded is git's newest, never older than what
    a commit in another process recorded meanwhile."""
    git = handle.store.open(handle.row.storage_key)
    with hub.repos.ref_lock(handle.row.id):
        after = git.refs("refs/")
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                hub.repos.record_ref(handle.row.id, f"refs/{name}", after.get(name))
    for name in sorted(set(before) | set(after)):
        if before.get(name) == after.get(name):
            continue
        target = after.get(name)
        if principal is not None and target is not None and name.startswith("pr/"):
            for info in reversed(_new_commits(git, target, before.get(name))):
                hub.discussions.record_commit(
                    handle, principal, f"refs/{name}", info.id, info.title
                )


def _new_commits(git: GitRepo, head: str, old: str | None, limit: int = 100) -> list[CommitInfo]:
    """The commits from `head` back to (not including) `old`, newest first, at most `limit`."""
    found = []
    for info in git.log(head):
        if info.id == old or len(found) >= limit:
            break
        found.append(info)
    return found
