"""Who makes a request, as every service sees it.

Its own module so that the access rules (services/access.py) and the repository service can
know the caller without importing the account service, which itself uses the repository service
(deleting a user deletes their repositories).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    """Who is making a request: the user, what their token allows, and their org roles."""

    user_id: int
    name: str
    token_role: str
    token_name: str
    is_admin: bool = False
    org_roles: dict[str, str] = field(default_factory=dict)
    token_created_at: dt.datetime | None = None
    token_id: int | None = None  # None for a password (Basic auth) principal

    @property
    def can_write(self) -> bool:
        return self.token_role == "write"

    def namespace_role(self, namespace: str) -> str | None:
        """The user's role in a namespace: their own is "admin", an org's is their membership."""
        if namespace == self.name:
            return "admin"
        return self.org_roles.get(namespace)
