"""The one place that decides who may read, write or administer a repository.

The Hub never reveals that a private repository exists: an anonymous caller gets 401 and a
signed-in caller without access gets 404, both as `RepoNotFound`, exactly as for a missing repo.
"""

from __future__ import annotations

from hubstead.domain.errors import Forbidden, RepoNotFound
from hubstead.services.accounts import Principal


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


def require_write_token(principal: Principal | None) -> Principal:
    if principal is None:
        raise RepoNotFound(status=401)
    if not principal.can_write:
        raise Forbidden("This token has read access only: a write token is needed for this action")
    return principal
