"""Authentication hardening (issue 14, "Auth"): passwords over HTTP Basic, read tokens, token
expiry. In-process tests first (fast, with the KDF and the clock patched where a test needs
them: nothing here is timed); then the same behaviour against a live server with the real
clients (huggingface_hub, git, the admin command)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import select, update

from helpers import admin_cli
from hubstead.domain.errors import BadRequest, InvalidCredentials
from hubstead.domain.repo_ids import RepoId, RepoType
from hubstead.services import accounts as accounts_module
from hubstead.services.accounts import AccountService
from hubstead.settings import Settings, SettingsError
from hubstead.storage.database import Database
from hubstead.storage.models import AccessToken, Account
from hubstead.testing import InProcessHub

SECRET = "alice/secret"
PASSWORD_HINT = "use an access token as the password"


def _basic(user: str, secret: str) -> dict[str, str]:
    value = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


def _csrf(page_html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def _answer(response) -> tuple:
    """What a caller can observe of a refusal: status, the Hub's error headers, the body."""
    return (
        response.status_code,
        response.headers.get("x-error-code"),
        response.headers.get("x-error-message"),
        response.content,
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> InProcessHub:
    hub = InProcessHub(tmp_path_factory.mktemp("auth"))
    hub.hub.repos.create(hub.principal("alice"), RepoType.MODEL, RepoId.parse(SECRET), True)
    yield hub
    hub.close()


@pytest.fixture
def kdf_calls(monkeypatch) -> list[int]:
    """Every scrypt run in this process (each password check runs exactly one)."""
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


# -- passwords over HTTP Basic ------------------------------------------------------------------

BASIC_ROUTES = [
    ("GET", "/api/whoami-v2", None),
    ("GET", f"/api/models/{SECRET}", None),
    ("GET", f"/{SECRET}.git/info/refs?service=git-upload-pack", None),
    ("GET", f"/{SECRET}.git/info/refs?service=git-receive-pack", None),
    ("POST", f"/{SECRET}.git/info/lfs/objects/batch", {"operation": "download", "objects": []}),
    ("POST", "/api/repos/create", {"name": "by-password", "type": "model"}),
]


@pytest.mark.parametrize(("method", "path", "body"), BASIC_ROUTES)
def test_a_password_over_basic_auth_is_refused_with_a_hint(live, method, path, body):
    """The Hub takes tokens only over Basic auth (git, git-lfs, the API) since 2023-10: a
    password there was full write access to everything of its user."""
    with live.client() as client:
        answer = client.request(method, path, json=body, headers=_basic("alice", "alice-password"))
    assert answer.status_code == 401, answer.text
    assert PASSWORD_HINT in answer.headers["x-error-message"]
    assert PASSWORD_HINT in answer.json()["error"]
    with live.client("alice") as client:
        assert client.get("/api/models/alice/by-password").status_code == 404


def test_a_token_over_basic_auth_keeps_its_role(live):
    with live.client() as client:
        clone = client.get(
            f"/{SECRET}.git/info/refs?service=git-upload-pack",
            headers=_basic("alice", live.tokens["alice_read"]),
        )
        push = client.get(
            f"/{SECRET}.git/info/refs?service=git-receive-pack",
            headers=_basic("alice", live.tokens["alice_read"]),
        )
        writer = client.get(
            f"/{SECRET}.git/info/refs?service=git-receive-pack",
            headers=_basic("anything", live.tokens["alice"]),  # the Hub ignores the user name
        )
    assert clone.status_code == 200 and writer.status_code == 200
    assert push.status_code == 403


def test_guessing_passwords_over_basic_auth_gains_nothing(live, kdf_calls):
    """20 wrong passwords and then the right one, and an unknown user: every answer is the same
    refusal, and no password is checked at all (so none costs a key derivation, and the time
    of an answer tells nothing about which accounts exist)."""
    answers = set()
    with live.client() as client:
        for attempt in range(20):
            answers.add(
                _answer(client.get("/api/whoami-v2", headers=_basic("bob", f"guess-{attempt}")))
            )
        answers.add(_answer(client.get("/api/whoami-v2", headers=_basic("bob", "bob-password"))))
        answers.add(_answer(client.get("/api/whoami-v2", headers=_basic("nobody", "whatever"))))
    assert len(answers) == 1
    (status, _, message, _) = answers.pop()
    assert status == 401 and PASSWORD_HINT in message
    assert kdf_calls == []


def _sign_in(client, login: str, password: str):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": _csrf(page.text)},
    )


def test_the_web_sign_in_derives_a_key_for_unknown_accounts_too(live, kdf_calls):
    """The only place a password is checked: a wrong password and an unknown account both cost
    one key derivation (the shared decoy hash), and get the same page."""
    live.hub.accounts.create_user("gina", password="gina-password")
    with live.client() as client:
        start = len(kdf_calls)  # creating gina hashed her password
        wrong = _sign_in(client, "gina", "not-her-password")
        known = len(kdf_calls) - start
        unknown = _sign_in(client, "no-such-person", "not-her-password")
    assert known == 1 and len(kdf_calls) - start == 2
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username, email or password." in wrong.text
    assert "Wrong username, email or password." in unknown.text


def test_sign_in_attempts_are_limited_per_account_right_password_included(live):
    live.hub.accounts.create_user("hugo", password="hugo-password")
    with live.client() as client:
        for attempt in range(5):
            assert _sign_in(client, "hugo", f"guess-{attempt}").status_code == 401
        limited = _sign_in(client, "hugo", "hugo-password")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "Too many sign-in attempts" in limited.text
    assert "hubstead_session" not in limited.cookies


# -- read tokens and the web forms ---------------------------------------------------------------


def _token_names(live: InProcessHub, user: str) -> list[str]:
    return [token.name for token in live.hub.accounts.list_tokens(user)]


def test_a_read_token_cannot_mint_a_write_token_on_the_tokens_page(live):
    """The page's form, posted with a read token (and a CSRF token the same client fetched),
    made a write token: a read token was as good as a write one."""
    with live.client("alice_read") as client:
        page = client.get("/settings/tokens")
        created = client.post(
            "/settings/tokens",
            data={"name": "escalated", "role": "write", "csrf_token": _csrf(page.text)},
        )
    assert created.status_code == 403
    assert "escalated" not in _token_names(live, "alice")


def test_tokens_are_managed_from_a_browser_session_not_with_a_token(live):
    """Even a write token cannot make or revoke tokens through the page: a token that expires
    in a week must not be able to mint one that never does."""
    live.hub.accounts.create_token("carol", "write", "carol-extra")
    extra = next(t for t in live.hub.accounts.list_tokens("carol") if t.name == "carol-extra")
    with live.client("carol") as client:
        page = client.get("/settings/tokens")
        csrf = _csrf(page.text)
        created = client.post(
            "/settings/tokens", data={"name": "forever", "role": "write", "csrf_token": csrf}
        )
        revoked = client.post(f"/settings/tokens/{extra.id}/delete", data={"csrf_token": csrf})
    assert created.status_code == 403 and revoked.status_code == 403
    assert "forever" not in _token_names(live, "carol")
    assert "carol-extra" in _token_names(live, "carol")


def test_a_site_admins_read_token_changes_nothing_through_admin_forms(live):
    """Every web form is a change: a read token (here a site admin's) is refused, as on the API."""
    token = live.hub.accounts.create_token("admin", "read", "admin-read")
    with live.client() as client:
        client.headers["Authorization"] = f"Bearer {token}"
        page = client.get("/admin/users")
        assert page.status_code == 200  # reading is what a read token is for
        made = client.post(
            "/admin/users",
            data={"name": "mallory", "password": "m" * 12, "csrf_token": _csrf(page.text)},
        )
    assert made.status_code == 403, made.text
    assert "read access only" in made.text
    assert live.hub.accounts.account("mallory") is None


# -- token expiry (in-process) -------------------------------------------------------------------


def _move_clock(monkeypatch, by: dt.timedelta) -> None:
    real = accounts_module.utcnow
    monkeypatch.setattr(accounts_module, "utcnow", lambda: real() + by)


def test_an_expired_token_is_refused_like_a_revoked_one(live, monkeypatch):
    accounts = live.hub.accounts
    expiring = accounts.create_token("dave", "write", "a-day", expires_days=1)
    revoked = accounts.create_token("dave", "write", "gone")
    accounts.revoke_token(revoked, "dave")
    assert accounts.authenticate(expiring).name == "dave"  # now cached, as every request does
    with live.client() as client:
        before = client.get("/api/whoami-v2", headers={"Authorization": f"Bearer {expiring}"})
        _move_clock(monkeypatch, dt.timedelta(days=1, minutes=1))
        after = client.get("/api/whoami-v2", headers={"Authorization": f"Bearer {expiring}"})
        gone = client.get("/api/whoami-v2", headers={"Authorization": f"Bearer {revoked}"})
    assert before.status_code == 200
    assert after.status_code == 401 and _answer(after) == _answer(gone)
    with pytest.raises(InvalidCredentials):
        accounts.authenticate(expiring)


def test_whoami_carries_the_expiry_only_of_an_expiring_token(live):
    accounts = live.hub.accounts
    expiring = accounts.create_token("dave", "read", "week", expires_days=7)
    with live.client() as client:
        week = client.get("/api/whoami-v2", headers={"Authorization": f"Bearer {expiring}"})
    with live.client("dave") as client:
        forever = client.get("/api/whoami-v2")
    stored = next(t for t in accounts.list_tokens("dave") if t.name == "week").expires_at
    assert stored is not None
    expiration = week.json()["auth"]["accessToken"]["expiration"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", expiration)
    assert abs(dt.datetime.fromisoformat(expiration) - _aware(stored)) < dt.timedelta(seconds=1)
    assert "expiration" not in forever.json()["auth"]["accessToken"]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def test_the_operator_bounds_token_lifetimes(live):
    bounded = AccountService(live.hub.db, token_max_days=30)
    default = bounded.create_token("carol", "read", "bounded-default")
    info = next(t for t in bounded.list_tokens("carol") if t.name == "bounded-default")
    lifetime = _aware(info.expires_at) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29, hours=23) < lifetime <= dt.timedelta(days=30)
    assert bounded.authenticate(default).name == "carol"
    with pytest.raises(BadRequest, match="30 days"):
        bounded.create_token("carol", "read", "too-long", expires_days=90)
    with pytest.raises(BadRequest):
        live.hub.accounts.create_token("carol", "read", "none", expires_days=0)
    unbounded = live.hub.accounts.create_token("carol", "read", "unbounded")
    assert (
        unbounded
        and next(
            t for t in live.hub.accounts.list_tokens("carol") if t.name == "unbounded"
        ).expires_at
        is None
    )


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), ("45", 45)])
def test_the_maximum_token_lifetime_setting(monkeypatch, tmp_path, value, expected):
    monkeypatch.setenv("HUBSTEAD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUBSTEAD_SECRET_KEY", "k")
    if value is None:
        monkeypatch.delenv("HUBSTEAD_TOKEN_MAX_DAYS", raising=False)
    else:
        monkeypatch.setenv("HUBSTEAD_TOKEN_MAX_DAYS", value)
    assert Settings.from_env().token_max_days == expected


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_a_bad_maximum_token_lifetime_is_refused(monkeypatch, tmp_path, value):
    monkeypatch.setenv("HUBSTEAD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUBSTEAD_SECRET_KEY", "k")
    monkeypatch.setenv("HUBSTEAD_TOKEN_MAX_DAYS", value)
    with pytest.raises(SettingsError, match="HUBSTEAD_TOKEN_MAX_DAYS"):
        Settings.from_env()


def _session_client(live: InProcessHub, user: str):
    """A browser signed in as `user` (through the sign-in form)."""
    client = live.client()
    page = client.get("/login")
    signed = client.post(
        "/login",
        data={"login": user, "password": f"{user}-password", "csrf_token": _csrf(page.text)},
    )
    assert signed.status_code == 303, signed.text
    return client


def test_the_tokens_page_makes_expiring_tokens_and_shows_expired_ones(live, monkeypatch):
    with _session_client(live, "bob") as browser:
        page = browser.get("/settings/tokens")
        assert page.status_code == 200
        choices = re.findall(r'<option value="([^"]*)"', page.text)
        assert choices == ["", "7", "30", "90"]
        created = browser.post(
            "/settings/tokens",
            data={"name": "ci", "role": "read", "expires": "7", "csrf_token": _csrf(page.text)},
        )
        assert created.status_code == 201
        value = re.search(r'value="(hf_[^"]+)"', created.text).group(1)
        listed = browser.get("/settings/tokens").text
        _move_clock(monkeypatch, dt.timedelta(days=8))
        later = browser.get("/settings/tokens").text
        refused = browser.post(
            "/settings/tokens",
            data={"name": "x", "role": "read", "expires": "3650", "csrf_token": _csrf(page.text)},
        )
    info = next(t for t in live.hub.accounts.list_tokens("bob") if t.name == "ci")
    lifetime = _aware(info.expires_at) - _aware(info.created_at)
    assert abs(lifetime - dt.timedelta(days=7)) < dt.timedelta(seconds=5)
    row = re.search(r'<tr data-token="ci".*?</tr>', listed, re.S).group(0)
    assert info.expires_at.strftime("%Y-%m-%d") in row and "expired" not in row
    expired_row = re.search(r'<tr data-token="ci".*?</tr>', later, re.S).group(0)
    assert "expired" in expired_row
    assert refused.status_code == 400 and "expir" in refused.text.lower()
    with pytest.raises(InvalidCredentials):
        live.hub.accounts.authenticate(value)


def test_the_tokens_page_offers_only_lifetimes_within_the_maximum(live, monkeypatch):
    monkeypatch.setattr(live.hub.accounts, "token_max_days", 30)
    with _session_client(live, "dave") as browser:
        page = browser.get("/settings/tokens")
    assert re.findall(r'<option value="([^"]*)"', page.text) == ["7", "30"]
    assert "at most 30 days" in page.text


# -- against a live server, with the real clients ----------------------------------------------


def _git(env: dict[str, str], *args: str, cwd: Path | None = None, check: bool = True):
    result = subprocess.run(
        ["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    if check:
        assert result.returncode == 0, f"git {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def discussed(api: HfApi) -> tuple[str, int, int]:
    """alice's repository with a discussion and a pull request, both with a comment."""
    repo_id = api.create_repo("discussed").repo_id
    api.upload_file(path_or_fileobj=b"# Discussed\n", path_in_repo="README.md", repo_id=repo_id)
    discussion = api.create_discussion(repo_id, "A question", description="Why?")
    api.upload_file(
        path_or_fileobj=b"proposed\n", path_in_repo="proposal.txt", repo_id=repo_id, create_pr=True
    )
    pull = next(d for d in api.get_repo_discussions(repo_id) if d.is_pull_request)
    return repo_id, discussion.num, pull.num


def _state(api: HfApi, repo_id: str, num: int) -> tuple:
    details = api.get_discussion_details(repo_id, num)
    return (
        details.status,
        details.title,
        [
            (event.type, getattr(event, "content", None), getattr(event, "hidden", None))
            for event in details.events
        ],
    )


def test_a_read_token_changes_no_discussion(hub, api: HfApi, discussed):
    """Every discussion write of huggingface_hub, with a read token of the repository's owner:
    403 each, and nothing changes."""
    repo_id, num, pr = discussed
    reader = HfApi(endpoint=hub.endpoint, token=hub.tokens["alice_read"])
    before = {n: _state(api, repo_id, n) for n in (num, pr)}
    comment_id = api.get_discussion_details(repo_id, num).events[0].id
    attempts = {
        "close": lambda: reader.change_discussion_status(repo_id, num, "closed"),
        "comment": lambda: reader.comment_discussion(repo_id, num, "sneaky"),
        "rename": lambda: reader.rename_discussion(repo_id, num, "Renamed"),
        "merge": lambda: reader.merge_pull_request(repo_id, pr),
        "edit": lambda: reader.edit_discussion_comment(repo_id, num, comment_id, "edited"),
        "hide": lambda: reader.hide_discussion_comment(repo_id, num, comment_id),
        "open": lambda: reader.create_discussion(repo_id, "New"),
        "open pr": lambda: reader.create_pull_request(repo_id, "New PR"),
    }
    refused = {}
    for name, attempt in attempts.items():
        with pytest.raises(HfHubHTTPError) as error:
            attempt()
        refused[name] = error.value.response.status_code
    assert refused == dict.fromkeys(attempts, 403)
    assert {n: _state(api, repo_id, n) for n in (num, pr)} == before
    assert len(list(api.get_repo_discussions(repo_id))) == 2


def test_git_takes_a_token_as_the_password_never_the_password(
    hub, api: HfApi, git_env, tmp_path: Path
):
    repo_id = api.create_repo("git-secret", private=True).repo_id
    api.upload_file(path_or_fileobj=b"# Secret\n", path_in_repo="README.md", repo_id=repo_id)
    host = hub.endpoint.removeprefix("http://")
    by_password = _git(
        git_env,
        "clone",
        f"http://alice:alice-password@{host}/{repo_id}",
        str(tmp_path / "refused"),
        check=False,
    )
    assert by_password.returncode != 0 and "Authentication failed" in by_password.stderr
    assert PASSWORD_HINT in by_password.stderr  # git prints the hub's plain-text message
    work = tmp_path / "work"
    _git(git_env, "clone", f"http://alice:{hub.tokens['alice_read']}@{host}/{repo_id}", str(work))
    assert (work / "README.md").read_text() == "# Secret\n"
    (work / "notes.md").write_text("pushed\n")
    _git(git_env, "add", ".", cwd=work)
    _git(git_env, "commit", "-m", "Push", cwd=work)
    head_before = api.model_info(repo_id).sha
    for secret in ("alice-password", hub.tokens["alice_read"]):
        _git(
            git_env,
            "remote",
            "set-url",
            "origin",
            f"http://alice:{secret}@{host}/{repo_id}",
            cwd=work,
        )
        assert _git(git_env, "push", "origin", "main", cwd=work, check=False).returncode != 0
    assert api.model_info(repo_id).sha == head_before
    _git(
        git_env,
        "remote",
        "set-url",
        "origin",
        f"http://alice:{hub.tokens['alice']}@{host}/{repo_id}",
        cwd=work,
    )
    _git(git_env, "push", "origin", "main", cwd=work)
    assert api.model_info(repo_id).sha != head_before


def test_expiring_tokens_from_the_command_line(hub):
    made = admin_cli(
        hub, "token", "create", "bob", "--role", "read", "--name", "week", "--expires-days", "7"
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    auth = HfApi(endpoint=hub.endpoint, token=token).whoami()["auth"]["accessToken"]
    expiration = dt.datetime.fromisoformat(auth["expiration"])
    assert auth["role"] == "read" and auth["displayName"] == "week"
    assert abs(expiration - dt.datetime.now(dt.UTC) - dt.timedelta(days=7)) < dt.timedelta(
        minutes=5
    )
    listing = json.loads(admin_cli(hub, "token", "list", "bob", "--json").stdout)
    week = next(t for t in listing if t["name"] == "week")
    assert week["expires"] == expiration.strftime("%Y-%m-%dT%H:%M:%SZ") and week["expired"] is False
    table = admin_cli(hub, "token", "list", "bob").stdout
    assert "EXPIRES" in table and expiration.strftime("%Y-%m-%d") in table
    bad = admin_cli(hub, "token", "create", "bob", "--expires-days", "0")
    assert bad.returncode == 2 and "expires" in bad.stderr.lower()


def test_an_expired_token_is_refused_by_the_live_server(hub):
    token = admin_cli(hub, "token", "create", "bob", "--name", "stale", "--expires-days", "1")
    value = token.stdout.strip()
    db = Database(hub.database_url)
    try:
        with db.session() as session:
            bob = session.scalar(select(Account.id).where(Account.name == "bob"))
            session.execute(
                update(AccessToken)
                .where(AccessToken.user_id == bob, AccessToken.name == "stale")
                .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
            )
    finally:
        db.dispose()
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(endpoint=hub.endpoint, token=value).whoami()
    assert refused.value.response.status_code == 401
    listing = json.loads(admin_cli(hub, "token", "list", "bob", "--json").stdout)
    assert next(t for t in listing if t["name"] == "stale")["expired"] is True
