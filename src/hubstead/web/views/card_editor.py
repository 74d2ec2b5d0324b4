"""Editing the card in the browser (`{repo}/edit/{rev}/README.md`): live preview, linter,
completeness checklist."""

from __future__ import annotations

from hubstead.protocols.routing import Router

router = Router(sessions=True)
