"""Users, organizations, memberships and access tokens.

Tokens are random `hf_…` strings shown once; only their SHA-256 is stored. Passwords are hashed
with scrypt from the standard library, which needs no extra dependency and is memory-hard.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select

from hubstead.domain.errors import BadRequest, Conflict, InvalidCredentials, NotFound
from hubstead.domain.repo_ids import validate_name_part
from hubstead.storage.database import Database
from hubstead.storage.models import AccessToken, Account, Membership

ROLES = ("read", "write", "admin")
# Names that would collide with URL prefixes of the hub itself.
RESERVED_NAMES = {"api", "datasets", "spaces", "models", "organizations", "settings", "login", "logout", "join",
                  "docs", "static", "new", "-", "admin-panel", "cas"}
TOKEN_ROLES = ("read", "write")


@dataclass(frozen=True)
class Principal:
    """Who is making a request: the user, what their token allows, and their org roles."""

    user_id: int
    name: str
    token_role: str
    token_name: str
    is_admin: bool = False
    org_roles: dict[str, str] = field(default_factory=dict)

    @property
    def can_write(self) -> bool:
        return self.token_role == "write"

    def namespace_role(self, namespace: str) -> str | None:
        """The user's role in a namespace: their own is "admin", an org's is their membership."""
        if namespace == self.name:
            return "admin"
        return self.org_roles.get(namespace)


def _check_account_name(name: str, what: str) -> None:
    validate_name_part(name, what)
    if name.lower() in RESERVED_NAMES:
        raise BadRequest(f"The name {name!r} is reserved")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$")
    actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(actual, base64.b64decode(digest))


_TOKENS = AccessToken.__table__
_ACCOUNTS = Account.__table__
_MEMBERS = Membership.__table__
_TOKEN_LOOKUP = (
    select(
        _TOKENS.c.role, _TOKENS.c.name.label("token_name"), _ACCOUNTS.c.id.label("user_id"),
        _ACCOUNTS.c.name.label("user_name"), _ACCOUNTS.c.is_admin,
    )
    .join(_ACCOUNTS, _ACCOUNTS.c.id == _TOKENS.c.user_id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)
_MEMBERSHIPS = (
    select(_ACCOUNTS.c.name, _MEMBERS.c.role)
    .join(_MEMBERS, _MEMBERS.c.org_id == _ACCOUNTS.c.id)
    .where(_MEMBERS.c.user_id == bindparam("user_id"))
)


class AccountService:
    def __init__(self, db: Database, cache_seconds: float = 5.0):
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}

    # -- creation -----------------------------------------------------------------------------

    def create_user(self, name: str, email: str | None = None, password: str | None = None, admin: bool = False) -> Account:
        _check_account_name(name, "user name")
        with self.db.session() as session:
            if session.scalar(select(Account).where(Account.name == name)):
                raise Conflict(f"The name {name!r} is already taken")
            user = Account(
                kind="user",
                name=name,
                fullname=name,
                email=email,
                password_hash=hash_password(password) if password else None,
                is_admin=admin,
            )
            session.add(user)
        return user

    def create_org(self, name: str, members: list[tuple[str, str]]) -> Account:
        _check_account_name(name, "organization name")
        with self.db.session() as session:
            if session.scalar(select(Account).where(Account.name == name)):
                raise Conflict(f"The name {name!r} is already taken")
            org = Account(kind="org", name=name, fullname=name)
            session.add(org)
            session.flush()
            for member, role in members:
                if role not in ROLES:
                    raise BadRequest(f"Invalid role {role!r}: use one of {', '.join(ROLES)}")
                user = self._user(session, member)
                session.add(Membership(org_id=org.id, user_id=user.id, role=role))
        return org

    def add_member(self, org_name: str, user_name: str, role: str) -> None:
        if role not in ROLES:
            raise BadRequest(f"Invalid role {role!r}: use one of {', '.join(ROLES)}")
        with self.db.session() as session:
            org = session.scalar(select(Account).where(Account.name == org_name, Account.kind == "org"))
            if org is None:
                raise NotFound(f"No organization named {org_name!r}")
            user = self._user(session, user_name)
            existing = session.get(Membership, (org.id, user.id))
            if existing:
                existing.role = role
            else:
                session.add(Membership(org_id=org.id, user_id=user.id, role=role))

    def create_token(self, user_name: str, role: str = "write", name: str = "token") -> str:
        """Create a token and return it; this is the only time its value exists in clear."""
        if role not in TOKEN_ROLES:
            raise BadRequest(f"Invalid token role {role!r}: use read or write")
        token = "hf_" + secrets.token_urlsafe(30).replace("-", "a").replace("_", "b")
        with self.db.session() as session:
            user = self._user(session, user_name)
            session.add(AccessToken(user_id=user.id, name=name, role=role, token_hash=hash_token(token)))
        return token

    def count_users(self) -> int:
        with self.db.session() as session:
            return len(session.scalars(select(Account.id).where(Account.kind == "user")).all())

    # -- lookup -------------------------------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        """Turn a bearer token into a Principal, or refuse it as the Hub does.

        Every request authenticates, so answers are cached in-process for a few seconds
        (`cache_seconds`): a revoked token or a changed membership takes effect within that time.
        """
        key = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.db.engine.connect() as connection:
            row = connection.execute(_TOKEN_LOOKUP, {"token_hash": key}).first()
            if row is None:
                raise InvalidCredentials()
            orgs = connection.execute(_MEMBERSHIPS, {"user_id": row.user_id}).all()
        principal = Principal(
            user_id=row.user_id,
            name=row.user_name,
            token_role=row.role,
            token_name=row.token_name,
            is_admin=row.is_admin,
            org_roles={org.name: org.role for org in orgs},
        )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + self.cache_seconds, principal)
        return principal

    def authenticate_password(self, name: str, password: str) -> Principal:
        with self.db.session() as session:
            user = session.scalar(select(Account).where(Account.name == name, Account.kind == "user"))
            if user is None or not verify_password(password, user.password_hash):
                raise InvalidCredentials()
            return self._principal(session, user, "write", "password")

    def _principal(self, session, user: Account, role: str, token_name: str) -> Principal:
        orgs = session.execute(
            select(Account.name, Membership.role)
            .join(Membership, Membership.org_id == Account.id)
            .where(Membership.user_id == user.id)
        ).all()
        return Principal(
            user_id=user.id,
            name=user.name,
            token_role=role,
            token_name=token_name,
            is_admin=user.is_admin,
            org_roles={name: org_role for name, org_role in orgs},
        )

    def account(self, name: str) -> Account | None:
        with self.db.session() as session:
            return session.scalar(select(Account).where(Account.name == name))

    def whoami(self, principal: Principal) -> dict:
        """The body of GET /api/whoami-v2."""
        with self.db.session() as session:
            user = session.get(Account, principal.user_id)
            orgs = session.execute(
                select(Account, Membership.role)
                .join(Membership, Membership.org_id == Account.id)
                .where(Membership.user_id == user.id)
                .order_by(Account.name)
            ).all()
        return {
            "type": "user",
            "id": str(user.id),
            "name": user.name,
            "fullname": user.fullname or user.name,
            "email": user.email,
            "emailVerified": bool(user.email),
            "canPay": False,
            "isPro": False,
            "periodEnd": None,
            "avatarUrl": "",
            "isAdmin": user.is_admin,
            "orgs": [
                {"type": "org", "id": str(org.id), "name": org.name, "fullname": org.fullname or org.name, "roleInOrg": role}
                for org, role in orgs
            ],
            "auth": {
                "type": "access_token",
                "accessToken": {"displayName": principal.token_name, "role": principal.token_role},
            },
        }

    @staticmethod
    def _user(session, name: str) -> Account:
        user = session.scalar(select(Account).where(Account.name == name, Account.kind == "user"))
        if user is None:
            raise NotFound(f"No user named {name!r}")
        return user
