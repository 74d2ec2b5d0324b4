"""Accounts: full names and avatars in whoami, the `hubstead` user/org/token commands, token
revocation against the live server, user deletion, and organizations' default privacy."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError
from sqlalchemy import select

from helpers import BIN, admin_cli, sign_in_status
from hubstead.domain.avatars import identicon_svg
from hubstead.services.accounts import DEFAULT_CACHE_SECONDS
from hubstead.storage.database import Database
from hubstead.storage.gitrepo import GitStore
from hubstead.storage.models import Account, Repository

# A revoked token must be refused within the cache time; the margin covers one request's latency.
REVOKE_DEADLINE = DEFAULT_CACHE_SECONDS + 3


def hubstead(
    hub, *args: str, stdin: str = "", extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The admin CLI against the live server's database, as an operator runs it (in-process:
    see helpers.admin_cli; `serve` and the first start below run as real processes)."""
    return admin_cli(hub, *args, stdin=stdin, extra_env=extra_env)


def ok(hub, *args: str, stdin: str = "") -> str:
    result = hubstead(hub, *args, stdin=stdin)
    assert result.returncode == 0, (
        f"hubstead {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def fails(hub, *args: str, stdin: str = "") -> str:
    """Run a command that must fail; return its error message."""
    result = hubstead(hub, *args, stdin=stdin)
    assert result.returncode == 2, (
        f"hubstead {' '.join(args)} should have failed:\n{result.stdout}\n{result.stderr}"
    )
    assert result.stdout == ""
    return result.stderr


def whoami_status(hub, token: str) -> int:
    return httpx.get(
        f"{hub.endpoint}/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).status_code


def seconds_until_refused(hub, token: str) -> float:
    """Poll the live server until it answers 401 for `token`; bounded by REVOKE_DEADLINE."""
    start = time.monotonic()
    while whoami_status(hub, token) != 401:
        assert time.monotonic() - start < REVOKE_DEADLINE, (
            f"the token still works after {REVOKE_DEADLINE} s"
        )
        time.sleep(0.2)
    return time.monotonic() - start


def repo_rows(hub, namespace: str) -> list[Repository]:
    db = Database(hub.database_url)
    try:
        with db.session() as session:
            return list(
                session.scalars(select(Repository).where(Repository.namespace == namespace))
            )
    finally:
        db.dispose()


# -- whoami, full names and avatars ------------------------------------------------------------


def test_identicon_is_deterministic_svg():
    first = identicon_svg("alice")
    assert first == identicon_svg("alice") and first != identicon_svg("bob")
    root = ElementTree.fromstring(first)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}rect")) > 1


def test_whoami_shows_fullname_avatar_orgs_and_token(hub, api: HfApi, tmp_path: Path):
    ok(
        hub,
        "user",
        "update",
        "alice",
        "--fullname",
        "Alice Liddell",
        "--avatar-url",
        "https://img.example.com/alice.png",
    )
    ok(hub, "org", "update", "acme", "--fullname", "Acme Corporation")
    me = api.whoami()
    assert me["name"] == "alice" and me["type"] == "user"
    assert me["fullname"] == "Alice Liddell"
    assert me["avatarUrl"] == "https://img.example.com/alice.png"
    assert me["orgs"] == [
        {
            "type": "org",
            "id": me["orgs"][0]["id"],
            "name": "acme",
            "fullname": "Acme Corporation",
            "avatarUrl": f"{hub.endpoint}/avatars/acme.svg",
            "roleInOrg": "admin",
        }
    ]
    token = me["auth"]["accessToken"]
    assert token["displayName"] == "alice-write" and token["role"] == "write"
    created = dt.datetime.strptime(token["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=dt.UTC
    )
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(hours=1)

    # `hf auth whoami` prints only the user, their orgs and the endpoint (huggingface_hub 2.4.0)
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(tmp_path / "home"),
        "HF_TOKEN": hub.tokens["alice"],
        "NO_COLOR": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    shown = subprocess.run(
        [str(BIN / "hf"), "auth", "whoami", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout.strip().splitlines()[-1])["user"] == "alice"
    assert json.loads(shown.stdout.strip().splitlines()[-1])["orgs"] == "acme"


def test_default_avatar_is_a_served_identicon(hub):
    bob = HfApi(endpoint=hub.endpoint, token=hub.tokens["bob"]).whoami()
    assert bob["fullname"] == "bob"  # no full name given: the user name, as on the Hub
    assert bob["avatarUrl"] == f"{hub.endpoint}/avatars/bob.svg"
    response = httpx.get(bob["avatarUrl"])
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "image/svg+xml"
    )
    assert "max-age" in response.headers["cache-control"]
    assert response.text == identicon_svg("bob") == httpx.get(bob["avatarUrl"]).text
    assert (
        httpx.get(f"{hub.endpoint}/avatars/bob%2F..%2Fx.svg").status_code != 200
    )  # names only, no paths


def test_clearing_an_avatar_goes_back_to_the_identicon(hub):
    ok(hub, "user", "create", "gina", "--avatar-url", "https://img.example.com/gina.png")
    token = ok(hub, "token", "create", "gina").strip()
    gina = HfApi(endpoint=hub.endpoint, token=token)
    assert gina.whoami()["avatarUrl"] == "https://img.example.com/gina.png"
    ok(hub, "user", "update", "gina", "--avatar-url", "")
    assert gina.whoami()["avatarUrl"] == f"{hub.endpoint}/avatars/gina.svg"


# -- hubstead user … -------------------------------------------------------------------------


def test_user_create_list_and_update(hub):
    assert (
        ok(
            hub,
            "user",
            "create",
            "dora",
            "--email",
            "dora@example.com",
            "--fullname",
            "Dora Explorer",
            "--avatar-url",
            "https://img.example.com/dora.png",
        ).strip()
        == "dora"
    )
    users = {user["name"]: user for user in json.loads(ok(hub, "user", "list", "--json"))}
    assert {"admin", "alice", "bob", "dora"} <= set(users)
    dora = users["dora"]
    assert (
        dora["fullname"] == "Dora Explorer"
        and dora["email"] == "dora@example.com"
        and dora["admin"] is False
    )
    assert dora["avatar_url"] == "https://img.example.com/dora.png"
    assert abs(
        dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(dora["created"].replace("Z", "+00:00"))
    ) < dt.timedelta(hours=1)
    assert users["admin"]["admin"] is True

    table = ok(hub, "user", "list").splitlines()
    assert table[0].split() == ["NAME", "FULLNAME", "EMAIL", "ADMIN", "CREATED"]
    row = next(line for line in table if line.startswith("dora "))
    assert "Dora Explorer" in row and "dora@example.com" in row and " no " in row

    assert (
        ok(hub, "user", "update", "dora", "--email", "", "--admin").strip()
        == "updated user dora: email, admin"
    )
    dora = {user["name"]: user for user in json.loads(ok(hub, "user", "list", "--json"))}["dora"]
    assert dora["email"] is None and dora["admin"] is True
    ok(hub, "user", "update", "dora", "--no-admin")
    assert {u["name"]: u for u in json.loads(ok(hub, "user", "list", "--json"))}["dora"][
        "admin"
    ] is False


def test_user_command_errors(hub):
    assert "No user named 'nobody'" in fails(hub, "user", "update", "nobody", "--fullname", "X")
    assert "No user named 'nobody'" in fails(hub, "user", "delete", "nobody")
    assert "No user named 'nobody'" in fails(
        hub, "user", "set-password", "nobody", "--password", "long-enough-1"
    )
    assert "Nothing to update" in fails(hub, "user", "update", "alice")
    assert "Invalid avatar URL" in fails(
        hub, "user", "update", "alice", "--avatar-url", "javascript:alert(1)"
    )
    assert "Invalid email" in fails(hub, "user", "update", "alice", "--email", "not an email")
    assert "already taken" in fails(hub, "user", "create", "alice")
    assert "already taken" in fails(
        hub, "user", "create", "ALICE"
    )  # names ignore case, like repo ids
    assert "already taken" in fails(hub, "org", "create", "Acme")
    assert "reserved" in fails(hub, "user", "create", "avatars")
    # `admin` is the only site admin: it can be neither demoted nor deleted
    assert "last admin" in fails(hub, "user", "update", "admin", "--no-admin")
    assert "last admin" in fails(hub, "user", "delete", "admin")
    assert {u["name"]: u for u in json.loads(ok(hub, "user", "list", "--json"))}["admin"][
        "admin"
    ] is True


def test_set_password_from_stdin_and_option(hub):
    ok(hub, "user", "create", "hank")
    assert (
        ok(hub, "user", "set-password", "hank", stdin="first-password\n").strip()
        == "password of hank changed"
    )

    def status(password: str) -> int:
        return sign_in_status(hub.endpoint, "hank", password)

    assert status("first-password") == 303 and status("wrong-password") == 401
    ok(hub, "user", "set-password", "hank", "--password", "second-password")
    assert status("second-password") == 303 and status("first-password") == 401
    assert "at least 8 characters" in fails(hub, "user", "set-password", "hank", stdin="short\n")
    db = Database(hub.database_url)
    try:
        with db.session() as session:
            stored = session.scalar(select(Account.password_hash).where(Account.name == "hank"))
    finally:
        db.dispose()
    assert stored.startswith("scrypt$") and "second-password" not in stored


# -- hubstead token … ------------------------------------------------------------------------


def test_token_list_never_shows_values(hub):
    ok(hub, "user", "create", "ivan")
    value = ok(hub, "token", "create", "ivan", "--name", "laptop", "--role", "read").strip()
    listed = json.loads(ok(hub, "token", "list", "ivan", "--json"))
    assert [(t["user"], t["name"], t["role"]) for t in listed] == [("ivan", "laptop", "read")]
    assert isinstance(listed[0]["id"], int) and listed[0]["created"].endswith("Z")
    everyone = ok(hub, "token", "list")
    assert everyone.splitlines()[0].split() == ["ID", "USER", "NAME", "ROLE", "CREATED", "EXPIRES"]
    assert "alice-write" in everyone and "laptop" in everyone
    assert value not in everyone and "hf_" not in everyone
    assert "No user named 'nobody'" in fails(hub, "token", "list", "nobody")


def test_token_revoke_stops_the_token_within_the_cache_time(hub):
    ok(hub, "user", "create", "judy")
    first = ok(hub, "token", "create", "judy", "--name", "ci").strip()
    second = ok(hub, "token", "create", "judy", "--name", "deploy").strip()
    ok(hub, "user", "create", "kate")
    ok(hub, "token", "create", "kate", "--name", "ci")
    assert (
        whoami_status(hub, first) == 200 and whoami_status(hub, second) == 200
    )  # both now cached by the server

    assert "2 tokens are named 'ci'" in fails(hub, "token", "revoke", "ci")
    revoked = ok(hub, "token", "revoke", "ci", "--user", "judy")
    assert revoked.startswith("revoked token ") and "(ci, write) of judy" in revoked
    assert seconds_until_refused(hub, first) <= REVOKE_DEADLINE
    assert whoami_status(hub, second) == 200, "only the named token is revoked"
    assert [t["name"] for t in json.loads(ok(hub, "token", "list", "kate", "--json"))] == ["ci"]

    deploy_id = next(
        t["id"]
        for t in json.loads(ok(hub, "token", "list", "judy", "--json"))
        if t["name"] == "deploy"
    )
    assert f"revoked token {deploy_id} (deploy" in ok(hub, "token", "revoke", str(deploy_id))
    seconds_until_refused(hub, second)
    assert json.loads(ok(hub, "token", "list", "judy", "--json")) == []
    assert "No token" in fails(hub, "token", "revoke", str(deploy_id))
    assert "No token of 'judy'" in fails(hub, "token", "revoke", "ci", "--user", "judy")


def test_token_revoke_by_value(hub):
    ok(hub, "user", "create", "leah")
    value = ok(hub, "token", "create", "leah", "--name", "leaked").strip()
    assert whoami_status(hub, value) == 200
    assert "(leaked, write) of leah" in ok(hub, "token", "revoke", value)
    seconds_until_refused(hub, value)


# -- hubstead user delete ----------------------------------------------------------------------


def test_user_delete_removes_their_repositories_tokens_and_memberships(hub, api: HfApi):
    ok(hub, "user", "create", "erin")
    ok(hub, "org", "create", "erin-lab", "--member", "erin:admin")
    ok(hub, "org", "add-member", "acme", "erin", "--role", "write")
    token = ok(hub, "token", "create", "erin").strip()
    erin = HfApi(endpoint=hub.endpoint, token=token)
    erin.create_repo("erin/model")
    erin.create_repo("erin/data", repo_type="dataset", private=True)
    erin.upload_file(path_or_fileobj=b"weights", path_in_repo="w.bin", repo_id="erin/model")
    erin.create_repo("acme/made-by-erin")
    keys = [row.storage_key for row in repo_rows(hub, "erin")]
    git = GitStore(hub.data_dir / "repos")
    assert len(keys) == 2 and all(git.path(key).is_dir() for key in keys)

    result = hubstead(hub, "user", "delete", "erin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "deleted user erin: 2 repositories, 1 token",
        "  deleted dataset erin/data",
        "  deleted model erin/model",
    ]
    assert "organization erin-lab has no admin left" in result.stderr

    admin = HfApi(endpoint=hub.endpoint, token=hub.tokens["admin"])
    with pytest.raises(RepositoryNotFoundError):
        admin.model_info("erin/model")
    with pytest.raises(RepositoryNotFoundError):
        admin.dataset_info("erin/data")
    assert repo_rows(hub, "erin") == [] and not any(git.path(key).exists() for key in keys)
    assert api.model_info("acme/made-by-erin").id == "acme/made-by-erin", (
        "repos in other namespaces stay"
    )
    seconds_until_refused(hub, token)
    assert "erin" not in {u["name"] for u in json.loads(ok(hub, "user", "list", "--json"))}
    assert "erin" not in {
        m["name"] for m in json.loads(ok(hub, "org", "members", "acme", "--json"))
    }
    assert "No user named 'erin'" in fails(hub, "user", "delete", "erin")


# -- organizations ---------------------------------------------------------------------------


def test_org_members(hub):
    ok(hub, "user", "create", "mona")
    ok(hub, "org", "create", "mona-lab", "--member", "mona:admin")
    assert (
        ok(hub, "org", "add-member", "mona-lab", "bob", "--role", "read").strip()
        == "bob is read of mona-lab"
    )
    assert json.loads(ok(hub, "org", "members", "mona-lab", "--json")) == [
        {"name": "bob", "role": "read"},
        {"name": "mona", "role": "admin"},
    ]
    assert "last admin of 'mona-lab'" in fails(hub, "org", "remove-member", "mona-lab", "mona")
    assert "last admin of 'mona-lab'" in fails(
        hub, "org", "add-member", "mona-lab", "mona", "--role", "read"
    )
    assert ok(hub, "org", "remove-member", "mona-lab", "bob").strip() == "removed bob from mona-lab"
    assert "'bob' is not a member of 'mona-lab'" in fails(
        hub, "org", "remove-member", "mona-lab", "bob"
    )
    assert "No organization named 'nowhere'" in fails(hub, "org", "add-member", "nowhere", "bob")
    assert "No organization named 'alice'" in fails(
        hub, "org", "update", "alice", "--default-private"
    )


def test_org_create_default_private(hub):
    ok(hub, "user", "create", "nick")
    ok(hub, "org", "create", "vault", "--member", "nick:admin", "--default-private")
    nick = HfApi(endpoint=hub.endpoint, token=ok(hub, "token", "create", "nick").strip())
    nick.create_repo("vault/secret")
    assert nick.model_info("vault/secret").private is True
    with pytest.raises(RepositoryNotFoundError) as anonymous:
        HfApi(endpoint=hub.endpoint, token=False).model_info("vault/secret")
    assert anonymous.value.response.status_code == 401
    nick.create_repo("vault/open", private=False)
    assert nick.model_info("vault/open").private is False
    assert HfApi(endpoint=hub.endpoint, token=False).model_info("vault/open").private is False
    nick.create_repo("nick/mine")  # a user's own namespace stays public by default
    assert HfApi(endpoint=hub.endpoint, token=False).model_info("nick/mine").private is False


def test_org_update_default_private(hub, api: HfApi):
    out = ok(hub, "org", "update", "acme", "--default-private")
    assert (
        out.strip()
        == "updated organization acme: default_private (new repositories are private by default)"
    )
    api.create_repo("acme/hidden-by-default")
    api.create_repo("acme/hidden-dataset", repo_type="dataset")
    api.create_repo("acme/explicitly-public", private=False)
    anonymous = HfApi(endpoint=hub.endpoint, token=False)
    assert api.model_info("acme/hidden-by-default").private is True
    assert api.dataset_info("acme/hidden-dataset").private is True
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("acme/hidden-by-default")
    assert anonymous.model_info("acme/explicitly-public").private is False

    ok(hub, "org", "update", "acme", "--no-default-private")
    api.create_repo("acme/public-again")
    assert anonymous.model_info("acme/public-again").private is False
    assert api.model_info("acme/hidden-by-default").private is True, (
        "existing repositories keep their visibility"
    )


# -- the first-start token ---------------------------------------------------------------------


def test_bootstrap_token_can_be_revoked(tmp_path: Path):
    """The token `hubstead serve` prints on first start is an ordinary token: it can be revoked."""
    from hubstead.testing import free_port

    port = free_port()
    env = {
        **os.environ,
        "HUBSTEAD_DATA_DIR": str(tmp_path / "data"),
        "HUBSTEAD_PORT": str(port),
        "HUBSTEAD_WORKERS": "1",
        "HUBSTEAD_QUIET": "1",
    }
    env.pop("HUBSTEAD_DATABASE_URL", None)
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hubstead", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/api/whoami-v2"
        deadline = time.monotonic() + 30
        token = None
        while token is None:
            assert time.monotonic() < deadline and process.poll() is None, log.read_text()
            token = next(
                (
                    line.split()[-1]
                    for line in log.read_text().splitlines()
                    if line.strip().startswith("token:")
                ),
                None,
            )
            time.sleep(0.1)
        while True:
            try:
                assert (
                    httpx.get(
                        url, headers={"Authorization": f"Bearer {token}"}, timeout=2
                    ).status_code
                    == 200
                )
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        cli = [sys.executable, "-m", "hubstead"]
        listed = subprocess.run(
            [*cli, "token", "list", "admin"], env=env, capture_output=True, text=True, timeout=60
        )
        assert "bootstrap" in listed.stdout
        revoked = subprocess.run(
            [*cli, "token", "revoke", "bootstrap"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert revoked.returncode == 0 and "(bootstrap, write) of admin" in revoked.stdout, (
            revoked.stderr
        )
        start = time.monotonic()
        while (
            httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=2).status_code
            != 401
        ):
            assert time.monotonic() - start < REVOKE_DEADLINE
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_audit_log_from_the_command_line(hub):
    """`hubstead audit` reads the events an operator's and a user's actions left."""
    assert (
        hubstead(hub, "token", "create", "bob", "--role", "read", "--name", "audited").returncode
        == 0
    )
    assert hubstead(hub, "token", "revoke", "audited", "--user", "bob").returncode == 0
    listed = hubstead(hub, "audit", "--action", "token", "--target", "bob", "--json")
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)
    assert [(e["action"], e["actor"], e["details"]["token"]) for e in events[:2]] == [
        ("token.revoke", None, "audited"),
        ("token.create", None, "audited"),
    ]
    table = hubstead(hub, "audit", "--action", "token.create", "--limit", "1")
    assert table.returncode == 0 and "token.create" in table.stdout and "ACTOR" in table.stdout
    refused = hubstead(hub, "audit", "--limit", "1000")
    assert refused.returncode != 0 and "limit" in (refused.stderr + refused.stdout)
