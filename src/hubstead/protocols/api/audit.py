"""The audit log for site admins (`GET /api/admin/audit-log`): newest first, filtered by
`action` (or its group, `token`), `actor` and `target` (`acme/` for a prefix), paged back with
`before` (an event id; the `Link` header names the next page). Not part of the Hub's API."""

from __future__ import annotations

from urllib.parse import urlencode

from hubstead.domain.errors import BadRequest, Forbidden, Unauthorized
from hubstead.protocols.http import Ctx, json_response
from hubstead.protocols.routing import Router
from hubstead.services.audit import PAGE_SIZE

router = Router()


def _number(ctx: Ctx, name: str, default: int | None) -> int | None:
    raw = ctx.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"'{name}' must be a whole number")
    return int(raw)


@router.route("GET", r"/api/admin/audit-log")
def audit_log(ctx: Ctx):
    principal = ctx.principal
    if principal is None:
        raise Unauthorized("You must be signed in: send 'Authorization: Bearer <token>'")
    if not principal.is_admin:
        raise Forbidden("Only site admins may read the audit log")
    limit = _number(ctx, "limit", PAGE_SIZE)
    filters = {key: ctx.query.get(key) or None for key in ("action", "actor", "target")}
    entries = ctx.hub.audit.entries(before=_number(ctx, "before", None), limit=limit, **filters)
    headers = {}
    if entries and len(entries) == limit:
        query = {k: v for k, v in filters.items() if v} | {"limit": limit, "before": entries[-1].id}
        headers["Link"] = f'<{ctx.base_url}/api/admin/audit-log?{urlencode(query)}>; rel="next"'
    return json_response([entry.to_json() for entry in entries], headers=headers)
