"""The Xet upload action of an LFS batch answer: shared by the LFS batch route (which answers
transfer "xet" to clients that offer it) and kept apart from both protocol modules, which may
import only the shared plumbing."""

from __future__ import annotations

import time

from hubstead.protocols.http import Ctx
from hubstead.services.repos import RepoHandle


def batch_upload_action(ctx: Ctx, handle: RepoHandle, ref: object) -> dict:
    """The upload action of an LFS batch answered with transfer "xet": `href` is the write-token
    route (the git-xet transfer agent refreshes its token there), the headers carry the CAS URL
    and a first token. huggingface_hub 0.3x and 1.x up to 1.19 offer "xet" in the batch request
    and look only at the answer's `transfer`; their Xet upload then asks the token route itself."""
    name = ref.get("name") if isinstance(ref, dict) else None
    revision = name.removeprefix("refs/heads/") if isinstance(name, str) and name else "main"
    user = ctx.principal.user_id if ctx.principal is not None else None
    token, expires = ctx.hub.xet.issue_token(handle.row.id, "write", user)
    # The batch lets readers with a write token upload (for pull requests): so does the route.
    href = ctx.url_for("xet.write-token", {"create_pr": 1}, repo=handle, rev=revision)
    headers = {
        "X-Xet-Cas-Url": ctx.url_for("cas"),
        "X-Xet-Access-Token": token,
        "X-Xet-Token-Expiration": str(expires),
    }
    return {"href": href, "header": headers, "expires_in": max(0, expires - int(time.time()))}
