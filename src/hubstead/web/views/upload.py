"""Uploading files from the browser (`{repo}/upload/{rev}`)."""

from __future__ import annotations

from hubstead.protocols.routing import Router

router = Router(sessions=True)
