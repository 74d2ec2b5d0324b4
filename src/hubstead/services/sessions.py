"""Signing in from a browser: password checks with limits, sessions, and CSRF tokens.

- A session is a random id in a cookie, signed with the hub's secret key (HMAC-SHA256) so a
  forged cookie is refused before the database is asked; only the id's SHA-256 is stored
  (`web_sessions`), so the database does not hold live sessions. Signing out deletes the row,
  which every process sees at once.
- Password attempts are limited per account and per address (`rate_limits`, shared by every
  process); a wrong password and an unknown account cost the same key derivation, so the time
  of an answer does not tell which accounts exist.
- CSRF: every form carries a token derived (HMAC) from a random cookie of the browser's (the
  double-submit pattern, signed): a page of another site can make the browser send the cookie
  but cannot read it, so it cannot write the matching token. The session cookie is
  `SameSite=Lax` too, and it never authorizes an API request: API routes read tokens only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time

from sqlalchemy import delete, or_, select

from hubstead.domain.errors import BadRequest, Forbidden, InvalidCredentials, RateLimited
from hubstead.services import audit
from hubstead.services.accounts import AccountService, hash_password, verify_password
from hubstead.services.principal import Principal
from hubstead.services.rate_limits import RateLimiter
from hubstead.storage.database import Database
from hubstead.storage.models import Account, WebSession, utcnow

SESSION_DAYS = 30
MIN_PASSWORD = 8
ATTEMPT_WINDOW = 15 * 60  # seconds
ATTEMPTS_PER_ACCOUNT = 5  # wrong or right, per window: then 429 until the window ends
ATTEMPTS_PER_ADDRESS = 30
SIGNUP_WINDOW = 60 * 60  # seconds
SIGNUPS_PER_ADDRESS = 5  # sign-up attempts per window, whatever their outcome
_DECOY = hash_password(secrets.token_urlsafe(16))  # checked against for unknown accounts


class SessionService:
    def __init__(self, db: Database, accounts: AccountService, secret_key: str):
        self.db = db
        self.accounts = accounts
        self.key = hashlib.sha256(("hubstead-web:" + secret_key).encode()).digest()
        self.limiter = RateLimiter(db)
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    # -- signing in and out ---------------------------------------------------------------

    def sign_in(self, login: str, password: str, address: str | None) -> tuple[str, Principal]:
        """Check a username (or email) and password; (the session cookie's value, the user).
        RateLimited past the attempts allowed; InvalidCredentials otherwise, whatever was wrong."""
        login = login.strip()
        self._count_attempt(login, address)
        with self.db.session() as session:
            user = session.scalar(
                select(Account).where(
                    Account.kind == "user",
                    or_(Account.name == login, Account.email == login) if login else False,
                )
            )
            stored = user.password_hash if user is not None else None
            if not verify_password(password, stored or _DECOY) or user is None or not stored:
                self._refused(user, address, "wrong password" if user else "unknown account")
                raise InvalidCredentials()
            if user.disabled:  # said only to whoever knows the password
                self._refused(user, address, "account disabled")
                raise Forbidden("This account is disabled: ask this hub's administrators")
            user_id, name = user.id, user.name
            audit.record(session, audit.Actor(user_id, name), "auth.sign_in", name, address=address)
        return self._open_session(user_id, name)

    def _refused(self, user: Account | None, address: str | None, reason: str) -> None:
        """Audit a refused sign-in in a transaction of its own (the attempt's rolls back). The
        name typed is kept only when it names an account: a mistyped password pasted into the
        name field must not land in the log."""
        target = user.name if user is not None else ""
        with self.db.session() as session:
            audit.record(
                session, None, "auth.sign_in_refused", target, address=address, reason=reason
            )

    def sign_up(
        self, name: str, email: str, password: str, address: str | None
    ) -> tuple[str, Principal]:
        """Create a user (the caller checked that sign-up is open) and sign them in. Attempts
        are limited per address, failed ones too, so names cannot be probed or accounts made in
        bulk; the name, email and password rules are `AccountService.create_user`'s."""
        with self.db.session() as session:
            key = f"signup-address:{address or 'unknown'}"
            hits, start = self.limiter.hit(session, key, SIGNUP_WINDOW)
            if hits > SIGNUPS_PER_ADDRESS:
                wait = max(1, int(start + SIGNUP_WINDOW - time.time()))
                raise RateLimited(
                    f"Too many sign-ups from this address; try again in {(wait + 59) // 60} min",
                    headers={"Retry-After": str(wait)},
                )
        if not email.strip():
            raise BadRequest("An email address is needed")
        if len(password) < MIN_PASSWORD:
            raise BadRequest(f"The password must have at least {MIN_PASSWORD} characters")
        user = self.accounts.create_user(
            name, email=email, password=password, audit_as=("auth.sign_up", address)
        )
        return self._open_session(user.id, user.name)

    def _open_session(self, user_id: int, name: str) -> tuple[str, Principal]:
        """A new session of the user: (the session cookie's value, the user)."""
        session_id = secrets.token_urlsafe(32)
        with self.db.session() as session:
            session.add(
                WebSession(
                    id_hash=_sha256(session_id),
                    user_id=user_id,
                    expires_at=utcnow() + dt.timedelta(days=SESSION_DAYS),
                )
            )
        principal = self.accounts.web_principal(name)
        return self._sign(session_id), principal

    def _count_attempt(self, login: str, address: str | None) -> None:
        with self.db.session() as session:
            for key, allowed in (
                (f"login-account:{login.lower()}", ATTEMPTS_PER_ACCOUNT),
                (f"login-address:{address or 'unknown'}", ATTEMPTS_PER_ADDRESS),
            ):
                hits, start = self.limiter.hit(session, key, ATTEMPT_WINDOW)
                if hits > allowed:
                    wait = max(1, int(start + ATTEMPT_WINDOW - time.time()))
                    raise RateLimited(
                        f"Too many sign-in attempts; try again in {(wait + 59) // 60} min",
                        headers={"Retry-After": str(wait)},
                    )
        # counted even when the password is right: a guesser learns nothing from the limit

    def change_password(
        self, principal: Principal, current: str, new: str, cookie: str | None, address: str | None
    ) -> None:
        """Set a new password after checking the current one (counted as a sign-in attempt);
        every other session of the user ends, this browser's stays signed in."""
        if len(new) < MIN_PASSWORD:
            raise BadRequest(f"The new password must have at least {MIN_PASSWORD} characters")
        self._count_attempt(principal.name, address)
        with self.db.session() as session:
            user = session.get(Account, principal.user_id)
            if user is None or not verify_password(current, user.password_hash or _DECOY):
                raise InvalidCredentials()
            if not user.password_hash:
                raise InvalidCredentials()
        self.accounts.set_password(principal.name, new)
        keep = self._verify(cookie)
        with self.db.session() as session:
            statement = delete(WebSession).where(WebSession.user_id == principal.user_id)
            if keep is not None:
                statement = statement.where(WebSession.id_hash != _sha256(keep))
            session.execute(statement)
            audit.record(
                session, principal, "auth.password_change", principal.name, address=address
            )
        self._cache.clear()

    def sign_out(self, cookie: str | None) -> None:
        session_id = self._verify(cookie)
        if session_id is None:
            return
        with self.db.session() as session:
            session.execute(delete(WebSession).where(WebSession.id_hash == _sha256(session_id)))
        self._cache.clear()

    def principal(self, cookie: str | None) -> Principal | None:
        """The signed-in user of a session cookie (None: none, forged, expired or signed out).
        Answers are kept as long as tokens' (`AccountService.cache_seconds`) per process."""
        session_id = self._verify(cookie)
        if session_id is None:
            return None
        now = time.monotonic()
        cached = self._cache.get(session_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.db.session() as session:
            row = session.execute(
                select(Account.name)
                .join(WebSession, WebSession.user_id == Account.id)
                .where(
                    WebSession.id_hash == _sha256(session_id),
                    WebSession.expires_at > utcnow(),
                    Account.disabled.is_(False),
                )
            ).first()
        principal = self.accounts.web_principal(row.name) if row is not None else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[session_id] = (now + self.accounts.cache_seconds, principal)
        return principal

    # -- cookies and CSRF -------------------------------------------------------------------

    def _sign(self, value: str) -> str:
        mac = hmac.new(self.key, value.encode(), hashlib.sha256).hexdigest()
        return f"{value}.{mac}"

    def _verify(self, cookie: str | None) -> str | None:
        if not cookie or "." not in cookie:
            return None
        value, _, mac = cookie.rpartition(".")
        expected = hmac.new(self.key, value.encode(), hashlib.sha256).hexdigest()
        return value if hmac.compare_digest(mac, expected) else None

    @staticmethod
    def new_csrf_secret() -> str:
        return secrets.token_urlsafe(24)

    def csrf_token(self, csrf_secret: str) -> str:
        """The token forms carry for the browser whose CSRF cookie holds `csrf_secret`."""
        return hmac.new(self.key, ("csrf:" + csrf_secret).encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, csrf_secret: str | None, token: str | None) -> bool:
        if not csrf_secret or not token:
            return False
        return hmac.compare_digest(self.csrf_token(csrf_secret), token)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
