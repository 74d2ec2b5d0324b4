"""What a Xet token may learn about the CAS: which repositories' xorbs it deduplicates against.

A xorb's chunk hashes say what content is stored. Answering a global-deduplication query, or
accepting a shard that names a xorb, from content the caller could not read would tell them that
a private file exists (and which xorb holds it). So the CAS answers a token from the xorbs of its
*source repositories* only:

- the token's own repository (re-uploading to the same repository: the most common case);
- every public repository that is not gated (anyone may download those files, so knowing their
  chunks are stored tells nothing);
- every repository in a namespace of the token's user: their own and their organizations' (any
  role), whose files they may read and whose gates do not apply to them.

This is a subset of what `services/access.py` and the gate allow the user to download (it leaves
out gated repositories they were granted, and a site admin's access to every repository), so it
can never reveal more than a download would; it keeps deduplication across one's own and one's
organizations' repositories, and against every public model. Anonymous tokens (a read token for
a public repository) get their repository and the public ones.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, false, or_, select

from hubstead.services.xet.tokens import XetToken
from hubstead.storage.models import Account, Membership, Repository

REPOS = Repository.__table__
ACCOUNTS = Account.__table__
MEMBERS = Membership.__table__


def user_namespaces(connection: Connection, user_id: int | None) -> list[str]:
    """The user's own namespace and their organizations' (none for anonymous or disabled)."""
    if not user_id:
        return []
    name = connection.execute(
        select(ACCOUNTS.c.name).where(
            ACCOUNTS.c.id == user_id, ACCOUNTS.c.kind == "user", ACCOUNTS.c.disabled == false()
        )
    ).scalar()
    if name is None:
        return []
    orgs = connection.execute(
        select(ACCOUNTS.c.name)
        .join(MEMBERS, MEMBERS.c.org_id == ACCOUNTS.c.id)
        .where(MEMBERS.c.user_id == user_id)
    ).scalars()
    return [name, *orgs]


def source_repos(connection: Connection, token: XetToken) -> ColumnElement[bool]:
    """A condition on `repositories` rows: those the token deduplicates against."""
    namespaces = user_namespaces(connection, token.user_id)
    return or_(
        REPOS.c.id == token.repo_row_id,
        and_(REPOS.c.private == false(), or_(REPOS.c.gated.is_(None), REPOS.c.gated == "")),
        REPOS.c.namespace.in_(namespaces) if namespaces else false(),
    )
