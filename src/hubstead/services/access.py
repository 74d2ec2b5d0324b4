"""The one place that decides who may read, write or administer a repository.

The Hub never reveals that a private repository exists: an anonymous caller gets 401 and a
signed-in caller without access gets 404, both as `RepoNotFound`, exactly as for a missing repo.
"""

from __future__ import annotations

import enum

from hubstead.domain.errors import Forbidden, RepoNotFound
from hubstead.services.principal import Principal

READ_ONLY_TOKEN = "This token has read access only: a write token is needed for this action"


class Need(enum.StrEnum):
    """What a request does with a repository, from least to most trusted."""

    READ = "read"  # see it: metadata, refs, discussions
    DOWNLOAD = "download"  # read its files: READ, and the gate of a gated repository
    UPLOAD = "upload"  # propose changes (a pull request, LFS uploads): DOWNLOAD and a write token
    WRITE = "write"  # change its branches and settings: a writer of the namespace, write token
    ADMIN = "admin"  # delete, rename, change visibility: an admin of the namespace, write token

    @property
    def role(self) -> str:
        """The namespace role the need takes ("read" for those that only add a gate or a token)."""
        return self.value if self in (Need.WRITE, Need.ADMIN) else "read"


def can_read(principal: Principal | None, namespace: str, private: bool) -> bool:
    if not private:
        return True
    if principal is None:
        return False
    return principal.is_admin or principal.namespace_role(namespace) is not None


def can_write(principal: Principal | None, namespace: str) -> bool:
    if principal is None or not principal.can_write:
        return False
    return principal.is_admin or principal.namespace_role(namespace) in ("write", "admin")


def can_admin(principal: Principal | None, namespace: str) -> bool:
    if principal is None or not principal.can_write:
        return False
    return principal.is_admin or principal.namespace_role(namespace) == "admin"


def not_found(principal: Principal | None) -> RepoNotFound:
    """The error for a repository the caller may not see, indistinguishable from a missing one."""
    return RepoNotFound(status=401 if principal is None else 404)


def check_role(principal: Principal | None, namespace: str, name: str, role: str) -> None:
    """Refuse a caller who may see the repository but lacks `role` ("read", "write", "admin") in
    its namespace: a read token is refused first (403), an anonymous caller is told nothing."""
    if role == "read":
        return
    if principal is not None and not principal.can_write:
        raise Forbidden(READ_ONLY_TOKEN)
    allowed = (
        can_write(principal, namespace) if role == "write" else can_admin(principal, namespace)
    )
    if not allowed:
        if principal is None:
            raise not_found(principal)
        raise Forbidden(
            f"You don't have the rights to {'write to' if role == 'write' else 'manage'} {namespace}/{name}"
        )


def require_write_token(principal: Principal | None, message: str = READ_ONLY_TOKEN) -> Principal:
    """A signed-in caller with a write token: what every change made on a user's behalf takes,
    even where reading is enough (opening a pull request, asking for access)."""
    if principal is None:
        raise RepoNotFound(status=401)
    if not principal.can_write:
        raise Forbidden(message)
    return principal
