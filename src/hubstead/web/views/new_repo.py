"""Creating a repository from the browser (`/new`, `/new-dataset`), a new model starting from the
model-card template."""

from __future__ import annotations

from hubstead.protocols.routing import Router

router = Router(sessions=True)
