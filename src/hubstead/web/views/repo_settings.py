"""A repository's settings page (`{repo}/settings`): visibility, gating and the access-request
queue, rename or move, default branch, delete."""

from __future__ import annotations

from hubstead.protocols.routing import Router

router = Router(sessions=True)
