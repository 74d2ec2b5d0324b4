"""The write side of the community tab: new discussions and pull requests, comments, close,
reopen, merge."""

from __future__ import annotations

from hubstead.protocols.routing import Router

router = Router(sessions=True)
