"""Users, organizations, memberships and access tokens.

Tokens are random `hf_…` strings shown once; only their SHA-256 is stored. A token may expire
(`expires_at`; the operator may bound every token's lifetime, HUBSTEAD_TOKEN_MAX_DAYS): an
expired token is refused exactly as a revoked one. Passwords are hashed with scrypt from the
standard library, which needs no extra dependency and is memory-hard; they sign in a browser
only (services/sessions.py): over HTTP Basic auth (git, git-lfs, the API) the Hub takes tokens
only, since October 2023, and so does this hub, so a password is never checked there.
Accounts have a full name and an avatar URL; without one, whoami points at the account's
identicon (`domain/avatars.py`), because the Hub always answers with a URL.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from hubstead.domain.avatars import avatar_url, check_avatar_url
from hubstead.domain.errors import (
    BadRequest,
    Conflict,
    InvalidCredentials,
    NotFound,
    Unauthorized,
)
from hubstead.domain.repo_ids import validate_name_part
from hubstead.services import audit
from hubstead.services.principal import Principal
from hubstead.services.repos import find_account
from hubstead.settings import MAX_TOKEN_DAYS
from hubstead.storage.database import Database
from hubstead.storage.models import (
    AccessToken,
    Account,
    Membership,
    SiteSetting,
    WebSession,
    utcnow,
)

if TYPE_CHECKING:
    from hubstead.services.repos import RepoService

ROLES = ("read", "write", "admin")
# Names that would collide with URL prefixes of the hub itself.
RESERVED_NAMES = {
    "api",
    "datasets",
    "spaces",
    "models",
    "organizations",
    "settings",
    "login",
    "logout",
    "join",
    "docs",
    "static",
    "new",
    "-",
    "admin-panel",
    "cas",
    "avatars",
}
TOKEN_ROLES = ("read", "write")
# How long authenticate() trusts an answer: a revoked token or deleted user stops working within it.
DEFAULT_CACHE_SECONDS = 5.0
MIN_PASSWORD_LENGTH = 8
PASSWORDS_REFUSED = (
    "Password authentication is not supported here, as on the Hugging Face Hub: "
    "use an access token as the password (create one at /settings/tokens)"
)
MAX_FULLNAME_LENGTH = 256
SIGNUP_SETTING = "allow_signup"  # the site_settings row a site admin's choice is kept in


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never its value (which the hub does not have anyway)."""

    id: int
    user: str
    name: str
    role: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None  # None: never
    expired: bool = False  # whether it had expired when it was listed


@dataclass(frozen=True)
class DeletedUser:
    """What deleting a user removed, so the operator can be told exactly."""

    name: str
    repos: list[str]  # "model alice/bert", …
    tokens: int
    orgs_left_without_admin: list[str]


def _check_account_name(name: str, what: str) -> None:
    validate_name_part(name, what)
    if name.lower() in RESERVED_NAMES:
        raise BadRequest(f"The name {name!r} is reserved")


def _fullname(value: str | None, name: str) -> str:
    """An empty full name falls back to the account name, which is what the Hub shows then."""
    value = (value or "").strip()
    if len(value) > MAX_FULLNAME_LENGTH:
        raise BadRequest(f"The full name is longer than {MAX_FULLNAME_LENGTH} characters")
    return value or name


def _avatar(value: str | None) -> str | None:
    """None or "" means no avatar of one's own (the identicon is shown)."""
    value = (value or "").strip()
    return check_avatar_url(value) if value else None


def _email(value: str | None) -> str | None:
    value = (value or "").strip()
    if value and ("@" not in value or len(value) > 256 or any(c.isspace() for c in value)):
        raise BadRequest(f"Invalid email address {value!r}")
    return value or None


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"The password must have at least {MIN_PASSWORD_LENGTH} characters")
    return hash_password(password)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every one stored is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _iso(value: dt.datetime) -> str:
    """The Hub's date form (2024-01-01T12:00:00.000Z); SQLite returns naive UTC datetimes."""
    value = _aware(value).astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _expired(expires_at: dt.datetime | None) -> bool:
    return expires_at is not None and _aware(expires_at) <= utcnow()


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
        _TOKENS.c.id.label("token_id"),
        _TOKENS.c.role,
        _TOKENS.c.name.label("token_name"),
        _TOKENS.c.created_at.label("token_created_at"),
        _TOKENS.c.expires_at.label("token_expires_at"),
        _ACCOUNTS.c.id.label("user_id"),
        _ACCOUNTS.c.name.label("user_name"),
        _ACCOUNTS.c.is_admin,
    )
    .join(_ACCOUNTS, _ACCOUNTS.c.id == _TOKENS.c.user_id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"), _ACCOUNTS.c.disabled.is_(False))
)
_MEMBERSHIPS = (
    select(_ACCOUNTS.c.name, _MEMBERS.c.role)
    .join(_MEMBERS, _MEMBERS.c.org_id == _ACCOUNTS.c.id)
    .where(_MEMBERS.c.user_id == bindparam("user_id"))
)


class AccountService:
    def __init__(
        self,
        db: Database,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        signup_default: bool = False,
        token_max_days: int | None = None,
    ):
        self.db = db
        self.cache_seconds = cache_seconds
        self.signup_default = signup_default  # HUBSTEAD_ALLOW_SIGNUP: until a site admin chooses
        self.token_max_days = token_max_days  # HUBSTEAD_TOKEN_MAX_DAYS: None, no maximum
        # token hash -> (trusted until, on the monotonic clock; the token's expiry; its caller)
        self._cache: dict[str, tuple[float, dt.datetime | None, Principal]] = {}

    # -- creation -----------------------------------------------------------------------------

    def create_user(
        self,
        name: str,
        email: str | None = None,
        password: str | None = None,
        admin: bool = False,
        fullname: str | None = None,
        avatar_url: str | None = None,
        by: Principal | None = None,
        audit_as: tuple[str, str | None] = ("user.create", None),
    ) -> Account:
        """A new user; audited as made by `by` (None: an operator), or, for a sign-up, as
        `audit_as` = ("auth.sign_up", the address) by the new user."""
        _check_account_name(name, "user name")
        with self.db.session() as session:
            if _name_taken(session, name):
                raise Conflict(f"The name {name!r} is already taken")
            user = Account(
                kind="user",
                name=name,
                fullname=_fullname(fullname, name),
                email=_email(email),
                password_hash=_password_hash(password) if password else None,
                is_admin=admin,
                avatar_url=_avatar(avatar_url),
            )
            session.add(user)
            session.flush()
            action, address = audit_as
            actor = audit.Actor(user.id, user.name) if action == "auth.sign_up" else by
            audit.record(session, actor, action, name, address=address, admin=admin or None)
        return user

    def create_org(
        self,
        name: str,
        members: list[tuple[str, str]],
        default_private: bool = False,
        fullname: str | None = None,
        avatar_url: str | None = None,
        by: Principal | None = None,
    ) -> Account:
        _check_account_name(name, "organization name")
        with self.db.session() as session:
            if _name_taken(session, name):
                raise Conflict(f"The name {name!r} is already taken")
            org = Account(
                kind="org",
                name=name,
                fullname=_fullname(fullname, name),
                avatar_url=_avatar(avatar_url),
                default_private=default_private,
            )
            session.add(org)
            session.flush()
            for member, role in members:
                if role not in ROLES:
                    raise BadRequest(f"Invalid role {role!r}: use one of {', '.join(ROLES)}")
                user = self._user(session, member)
                session.add(Membership(org_id=org.id, user_id=user.id, role=role))
            audit.record(session, by, "org.create", name, members=dict(members) or None)
        return org

    def add_member(
        self, org_name: str, user_name: str, role: str, by: Principal | None = None
    ) -> None:
        if role not in ROLES:
            raise BadRequest(f"Invalid role {role!r}: use one of {', '.join(ROLES)}")
        with self.db.session() as session:
            org = self._org(session, org_name)
            user = self._user(session, user_name)
            existing = session.get(Membership, (org.id, user.id))
            if existing:
                if existing.role == "admin" and role != "admin":
                    self._keep_an_org_admin(session, org, user)
                if existing.role != role:
                    audit.record(
                        session,
                        by,
                        "member.role",
                        org.name,
                        user=user.name,
                        role=role,
                        previous=existing.role,
                    )
                existing.role = role
            else:
                session.add(Membership(org_id=org.id, user_id=user.id, role=role))
                audit.record(session, by, "member.add", org.name, user=user.name, role=role)
        self._cache.clear()  # org roles are part of the cached Principal

    def remove_member(self, org_name: str, user_name: str, by: Principal | None = None) -> None:
        """Take a user out of an organization; its last admin stays, or nobody could manage it."""
        with self.db.session() as session:
            org = self._org(session, org_name)
            user = self._user(session, user_name)
            membership = session.get(Membership, (org.id, user.id))
            if membership is None:
                raise NotFound(f"{user_name!r} is not a member of {org_name!r}")
            if membership.role == "admin":
                self._keep_an_org_admin(session, org, user)
            session.delete(membership)
            audit.record(
                session, by, "member.remove", org.name, user=user.name, role=membership.role
            )
        self._cache.clear()

    def members(self, org_name: str) -> list[tuple[str, str]]:
        """(user name, role) of every member, by name."""
        with self.db.session() as session:
            org = self._org(session, org_name)
            return [
                (name, role)
                for name, role in session.execute(
                    select(Account.name, Membership.role)
                    .join(Membership, Membership.user_id == Account.id)
                    .where(Membership.org_id == org.id)
                    .order_by(Account.name)
                )
            ]

    # -- changes ------------------------------------------------------------------------------

    def update_user(
        self,
        name: str,
        *,
        fullname: str | None = None,
        email: str | None = None,
        avatar_url: str | None = None,
        admin: bool | None = None,
    ) -> Account:
        """Change the fields given (None leaves one alone); "" clears the email and the avatar."""
        with self.db.session() as session:
            user = self._user(session, name)
            if admin is False and user.is_admin:
                self._keep_a_site_admin(session, user)
            if fullname is not None:
                user.fullname = _fullname(fullname, user.name)
            if email is not None:
                user.email = _email(email)
            if avatar_url is not None:
                user.avatar_url = _avatar(avatar_url)
            if admin is not None:
                user.is_admin = admin
        self._cache.clear()  # is_admin is part of the cached Principal
        return user

    def update_org(
        self,
        name: str,
        *,
        fullname: str | None = None,
        avatar_url: str | None = None,
        default_private: bool | None = None,
    ) -> Account:
        with self.db.session() as session:
            org = self._org(session, name)
            if fullname is not None:
                org.fullname = _fullname(fullname, org.name)
            if avatar_url is not None:
                org.avatar_url = _avatar(avatar_url)
            if default_private is not None:
                org.default_private = default_private
        return org

    def set_disabled(self, name: str, disabled: bool, by: str | None = None) -> Account:
        """Disable a user (their sign-in, tokens and sessions are refused; their sessions end) or
        enable them again (their tokens work again). `by`, the admin doing it, cannot disable
        themselves, and the last enabled site admin stays, or nobody could manage the hub.
        Other processes see it within `cache_seconds`."""
        with self.db.session() as session:
            user = self._user(session, name)
            if disabled and by is not None and user.name == by:
                raise Conflict("You cannot disable your own account")
            if disabled and user.is_admin:
                self._keep_a_site_admin(session, user)
            if user.disabled != disabled:
                action = "user.disable" if disabled else "user.enable"
                audit.record(session, audit.Actor(None, by or ""), action, user.name)
            user.disabled = disabled
            if disabled:
                session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        self._cache.clear()
        return user

    def signup_open(self) -> bool:
        """Whether anyone may create an account at /join: the site admin's choice, else the
        operator's default (HUBSTEAD_ALLOW_SIGNUP)."""
        with self.db.session() as session:
            row = session.get(SiteSetting, SIGNUP_SETTING)
            return self.signup_default if row is None else bool(row.value)

    def set_signup_open(self, value: bool) -> None:
        with self.db.session() as session:
            session.merge(SiteSetting(name=SIGNUP_SETTING, value=value))

    def set_password(self, name: str, password: str) -> None:
        with self.db.session() as session:
            self._user(session, name).password_hash = _password_hash(password)

    def delete_user(
        self, name: str, repos: RepoService, by: Principal | None = None
    ) -> DeletedUser:
        """Delete a user with everything that is theirs, as the Hub does: their repositories
        (rows and git storage), tokens, memberships and likes. Discussions they wrote stay,
        without an author. The last site admin cannot be deleted.

        The rows go in one transaction; git storage is freed only once it committed, so a
        failure leaves the user whole. LFS bytes are freed by `hubstead gc`, as for any deletion."""
        with self.db.session() as session:
            user = self._user(session, name)
            if user.is_admin:
                self._keep_a_site_admin(session, user)
            tokens = session.scalar(
                select(func.count()).select_from(AccessToken).where(AccessToken.user_id == user.id)
            )
            orphaned = self._orgs_only_administered_by(session, user.id)
            removed = repos.forget_namespace(session, user.name)
            session.execute(delete(Account).where(Account.id == user.id))
            audit.record(
                session,
                by,
                "user.delete",
                name,
                repos=[f"{row.type} {row.namespace}/{row.name}" for row in removed] or None,
            )
        repos.free_storage(removed)
        self._cache.clear()
        return DeletedUser(
            name=name,
            repos=[f"{row.type} {row.namespace}/{row.name}" for row in removed],
            tokens=tokens or 0,
            orgs_left_without_admin=orphaned,
        )

    @staticmethod
    def _keep_a_site_admin(session: Session, user: Account) -> None:
        """Refuse to leave the hub without an (enabled) admin. The admin rows are locked
        (PostgreSQL), so two admins removed at the same time cannot both pass this check."""
        admins = session.scalars(
            select(Account.id)
            .where(Account.kind == "user", Account.is_admin.is_(True), Account.disabled.is_(False))
            .with_for_update()
        ).all()
        if set(admins) <= {user.id}:
            raise Conflict(
                f"{user.name!r} is the last admin of this hub: make another user admin first"
            )

    @staticmethod
    def _keep_an_org_admin(session: Session, org: Account, user: Account) -> None:
        admins = session.scalars(
            select(Membership.user_id)
            .where(Membership.org_id == org.id, Membership.role == "admin")
            .with_for_update()
        ).all()
        if set(admins) <= {user.id}:
            raise Conflict(
                f"{user.name!r} is the last admin of {org.name!r}: make another member admin first"
            )

    @staticmethod
    def _orgs_only_administered_by(session: Session, user_id: int) -> list[str]:
        others = select(Membership.org_id).where(
            Membership.role == "admin", Membership.user_id != user_id
        )
        return list(
            session.scalars(
                select(Account.name)
                .join(Membership, Membership.org_id == Account.id)
                .where(
                    Membership.user_id == user_id,
                    Membership.role == "admin",
                    Membership.org_id.not_in(others),
                )
                .order_by(Account.name)
            )
        )

    # -- tokens -------------------------------------------------------------------------------

    def create_token(
        self,
        user_name: str,
        role: str = "write",
        name: str = "token",
        expires_days: int | None = None,
        by: Principal | None = None,
    ) -> str:
        """Create a token and return it; this is the only time its value exists in clear.
        `expires_days`: its lifetime (None: the operator's maximum, or never without one)."""
        if role not in TOKEN_ROLES:
            raise BadRequest(f"Invalid token role {role!r}: use read or write")
        expires_at = self._token_expiry(expires_days)
        token = "hf_" + secrets.token_urlsafe(30).replace("-", "a").replace("_", "b")
        with self.db.session() as session:
            user = self._user(session, user_name)
            session.add(
                AccessToken(
                    user_id=user.id,
                    name=name,
                    role=role,
                    token_hash=hash_token(token),
                    expires_at=expires_at,
                )
            )
            audit.record(
                session,
                by,
                "token.create",
                user.name,
                token=name,
                role=role,
                expires=expires_at.isoformat() if expires_at else None,
            )
        return token

    def _token_expiry(self, days: int | None) -> dt.datetime | None:
        """When a new token expires: `days` from now, within the operator's maximum."""
        limit = self.token_max_days
        if days is None:
            days = limit
        if days is None:
            return None
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise BadRequest("A token expires after a whole number of days, at least 1")
        if limit is not None and days > limit:
            raise BadRequest(f"Tokens on this hub expire within {limit} days at most")
        if days > MAX_TOKEN_DAYS:
            raise BadRequest(
                f"A token expires within {MAX_TOKEN_DAYS} days at most (or give it no expiry)"
            )
        return utcnow() + dt.timedelta(days=days)

    def list_tokens(self, user_name: str | None = None) -> list[TokenInfo]:
        """Every token (of one user, or of all), oldest first."""
        with self.db.session() as session:
            query = select(AccessToken, Account.name).join(
                Account, Account.id == AccessToken.user_id
            )
            if user_name is not None:
                query = query.where(AccessToken.user_id == self._user(session, user_name).id)
            rows = session.execute(query.order_by(AccessToken.id)).all()
        return [_token_info(token, owner) for token, owner in rows]

    def revoke_token(
        self, ref: str, user_name: str | None = None, by: Principal | None = None
    ) -> TokenInfo:
        """Delete one token, named by its id, its name (unique, or unique for `user_name`) or
        its value. Other server processes stop accepting it within `cache_seconds`."""
        with self.db.session() as session:
            query = select(AccessToken, Account.name).join(
                Account, Account.id == AccessToken.user_id
            )
            if user_name is not None:
                query = query.where(AccessToken.user_id == self._user(session, user_name).id)
            matches = _find_tokens(session, query, ref)
            where = f" of {user_name!r}" if user_name else ""
            if not matches:
                raise NotFound(f"No token{where} with the id, name or value {ref!r}")
            if len(matches) > 1:
                ids = ", ".join(str(token.id) for token, _ in matches)
                raise Conflict(
                    f"{len(matches)} tokens{where} are named {ref!r} (ids {ids}): give the id, or --user"
                )
            token, owner = matches[0]
            session.delete(token)
            audit.record(session, by, "token.revoke", owner, token=token.name, role=token.role)
        self._cache.clear()
        return _token_info(token, owner)

    def count_users(self) -> int:
        with self.db.session() as session:
            return len(session.scalars(select(Account.id).where(Account.kind == "user")).all())

    # -- lookup -------------------------------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        """Turn a bearer token into a Principal, or refuse it as the Hub does.

        Every request authenticates, so answers are cached in-process for a few seconds
        (`cache_seconds`): a revoked token or a changed membership takes effect within that time.
        An expired token is refused at once, cached or not, exactly as an unknown one.
        """
        key = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            if _expired(cached[1]):
                self._cache.pop(key, None)
                raise InvalidCredentials()
            return cached[2]
        with self.db.engine.connect() as connection:
            row = connection.execute(_TOKEN_LOOKUP, {"token_hash": key}).first()
            if row is None or _expired(row.token_expires_at):
                raise InvalidCredentials()
            orgs = connection.execute(_MEMBERSHIPS, {"user_id": row.user_id}).all()
            self._note_use(connection, row.token_id)
        principal = Principal(
            user_id=row.user_id,
            name=row.user_name,
            token_role=row.role,
            token_name=row.token_name,
            is_admin=row.is_admin,
            org_roles={org.name: org.role for org in orgs},
            token_created_at=row.token_created_at,
            token_id=row.token_id,
        )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + self.cache_seconds, row.token_expires_at, principal)
        return principal

    def _note_use(self, connection, token_id: int) -> None:
        """The token's last use, for the tokens page: written when this process' cache missed
        (every `cache_seconds` at most) and the stored time is a minute old."""
        now = utcnow()
        connection.execute(
            update(AccessToken)
            .where(
                AccessToken.id == token_id,
                (AccessToken.last_used_at.is_(None))
                | (AccessToken.last_used_at < now - dt.timedelta(minutes=1)),
            )
            .values(last_used_at=now)
        )
        connection.commit()

    def authenticate_basic(self, secret: str) -> Principal:
        """HTTP Basic auth (git, git-lfs, clients that send it): the password must be a token,
        whatever the user name, as on the Hub. A password is refused without being checked:
        nothing to guess, no key derivation to time, nothing to rate-limit; and a token, unlike
        a password, is revocable and may be read-only."""
        if not secret.startswith("hf_"):
            raise Unauthorized(PASSWORDS_REFUSED)
        return self.authenticate(secret)

    def web_principal(self, name: str) -> Principal:
        """A user signed in from a browser: what their roles allow (a session is not a
        read-only token), for the web pages only."""
        with self.db.session() as session:
            return self._principal(session, self._user(session, name), "write", "web session")

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

    def list_users(self) -> list[Account]:
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(Account).where(Account.kind == "user").order_by(Account.name)
                )
            )

    def whoami(self, principal: Principal, base_url: str = "") -> dict:
        """The body of GET /api/whoami-v2; `base_url` makes default avatar URLs absolute."""
        with self.db.session() as session:
            user = session.get(Account, principal.user_id)
            orgs = session.execute(
                select(Account, Membership.role)
                .join(Membership, Membership.org_id == Account.id)
                .where(Membership.user_id == user.id)
                .order_by(Account.name)
            ).all()
            expires_at = (
                session.scalar(
                    select(AccessToken.expires_at).where(AccessToken.id == principal.token_id)
                )
                if principal.token_id is not None
                else None
            )
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
            "avatarUrl": avatar_url(user.avatar_url, user.name, base_url),
            "isAdmin": user.is_admin,
            "orgs": [
                {
                    "type": "org",
                    "id": str(org.id),
                    "name": org.name,
                    "fullname": org.fullname or org.name,
                    "avatarUrl": avatar_url(org.avatar_url, org.name, base_url),
                    "roleInOrg": role,
                }
                for org, role in orgs
            ],
            "auth": {"type": "access_token", "accessToken": _token_fields(principal, expires_at)},
        }

    @staticmethod
    def _user(session, name: str) -> Account:
        user = session.scalar(select(Account).where(Account.name == name, Account.kind == "user"))
        if user is None:
            raise NotFound(f"No user named {name!r}")
        return user

    @staticmethod
    def _org(session, name: str) -> Account:
        org = session.scalar(select(Account).where(Account.name == name, Account.kind == "org"))
        if org is None:
            raise NotFound(f"No organization named {name!r}")
        return org


def _name_taken(session, name: str) -> bool:
    """Account names, like repository ids, ignore case: `Alice` is taken when `alice` exists."""
    return find_account(session, name) is not None


def _token_fields(principal: Principal, expires_at: dt.datetime | None) -> dict:
    """whoami's `auth.accessToken`: `expiration` (an ISO date, only for a token that expires)
    is the Hub's field, which huggingface.js reads as a Date; huggingface_hub reads only
    `displayName` and `role`."""
    fields = {"displayName": principal.token_name, "role": principal.token_role}
    if principal.token_created_at is not None:
        fields["createdAt"] = _iso(principal.token_created_at)
    if expires_at is not None:
        fields["expiration"] = _iso(expires_at)
    return fields


def _token_info(token: AccessToken, owner: str) -> TokenInfo:
    return TokenInfo(
        id=token.id,
        user=owner,
        name=token.name,
        role=token.role,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        expires_at=token.expires_at,
        expired=_expired(token.expires_at),
    )


def _find_tokens(session: Session, query, ref: str) -> list:
    """A pasted `hf_…` value, then an id, then a name: ids win over names that look like ids."""
    if ref.startswith("hf_"):
        return session.execute(query.where(AccessToken.token_hash == hash_token(ref))).all()
    if ref.isdigit():
        by_id = session.execute(query.where(AccessToken.id == int(ref))).all()
        if by_id:
            return by_id
    return session.execute(query.where(AccessToken.name == ref)).all()
