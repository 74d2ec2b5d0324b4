"""Organizations from the browser: create one (`/organizations/new`), its members and their
roles (`/{org}/settings/members`)."""

from __future__ import annotations

from hubstead.protocols.routing import Router

router = Router(sessions=True)
