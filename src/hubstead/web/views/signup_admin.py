"""Self sign-up (`/join`, off unless an operator turns it on) and the site admin's user page
(`/admin/users`: create and disable users)."""

from __future__ import annotations

from hubstead.protocols.routing import Router

router = Router(sessions=True)
