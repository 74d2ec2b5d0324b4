"""Accounts from a browser (issue 13), in Chromium against a live hub: self sign-up (closed by
default, opened and closed by the site admin), the admin's user page (create, disable, enable
again: a disabled user's session, token and password stop working), and organizations (create
one, add members with roles, change and remove them), read back through huggingface_hub."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from playwright.sync_api import expect

from helpers import anonymous, serious_accessibility_violations, sign_in

HUB_ENV = {"HUBSTEAD_TOKEN_CACHE_SECONDS": "1"}
CACHE_WAIT = 1.3  # a little more than the token cache's second, for the other web process


def _accessible(page) -> None:
    """No serious or critical axe violation in the light and the dark scheme."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert serious_accessibility_violations(page) == [], scheme
    page.emulate_media(color_scheme="light")


def _set_signup(page, endpoint: str, is_open: bool) -> None:
    """As the signed-in admin, open or close self sign-up on /admin/users."""
    page.goto(f"{endpoint}/admin/users")
    state = page.locator(".signup-state")
    if state.inner_text() != ("open" if is_open else "closed"):
        button = "Open self sign-up" if is_open else "Close self sign-up"
        page.get_by_role("button", name=button).click()
        page.wait_for_load_state()
    expect(page.locator(".signup-state")).to_have_text("open" if is_open else "closed")


def _fill_signup(page, name: str, email: str, password: str, again: str | None = None) -> None:
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password, again").fill(password if again is None else again)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()


def _create_user(page, endpoint: str, name: str, password: str, admin: bool = False) -> None:
    """As the signed-in admin, create a user on /admin/users."""
    page.goto(f"{endpoint}/admin/users")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(f"{name}@example.com")
    page.get_by_label("Password").fill(password)
    if admin:
        page.get_by_label("Site admin").check()
    page.get_by_role("button", name="Create user").click()
    page.wait_for_load_state()
    expect(page.locator(".form-done")).to_have_text(f"User {name} created.")


def _new_token(page, endpoint: str, name: str) -> str:
    page.goto(f"{endpoint}/settings/tokens")
    page.get_by_label("Name").fill(name)
    page.get_by_role("radio", name="write").check()
    page.get_by_role("button", name="Create token").click()
    page.wait_for_load_state()
    return page.locator("#new-token").input_value()


def test_sign_up_is_closed_by_default(endpoint, page):
    assert page.goto(f"{endpoint}/join").status == 404
    expect(page.locator(".error-code")).to_have_text("404")
    page.goto(f"{endpoint}/login")
    expect(page.get_by_role("link", name="Create an account")).to_have_count(0)
    form = {"csrf_token": page.locator("input[name=csrf_token]").first.input_value()}
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    posted = httpx.post(
        f"{endpoint}/join",
        data={**form, "name": "sneaky", "email": "s@example.com", "password": "x" * 12},
        cookies=cookies,
    )
    assert posted.status_code == 404
    with pytest.raises(HfHubHTTPError):
        anonymous(endpoint).get_user_overview("sneaky")


def test_the_operator_setting_opens_sign_up_until_an_admin_chooses(tmp_path, monkeypatch):
    """HUBSTEAD_ALLOW_SIGNUP is the default; the admin page's choice, once made, holds."""
    from hubstead.hub import Hub
    from hubstead.settings import Settings

    monkeypatch.setenv("HUBSTEAD_DATA_DIR", str(tmp_path))
    assert Settings.from_env().allow_signup is False
    monkeypatch.setenv("HUBSTEAD_ALLOW_SIGNUP", "1")
    local = Hub(Settings.from_env())
    local.db.migrate()
    try:
        assert local.accounts.signup_open()
        local.accounts.set_signup_open(False)
        assert not local.accounts.signup_open()
        local.accounts.set_signup_open(True)
        assert local.accounts.signup_open()
    finally:
        local.db.dispose()


def test_the_admin_opens_sign_up_and_a_visitor_joins(endpoint, page, browser):
    sign_in(page, endpoint, "admin", "admin-password")
    _set_signup(page, endpoint, True)
    _accessible(page)
    visitor = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = visitor.new_page()
    tab.goto(f"{endpoint}/login")
    tab.get_by_role("link", name="Create an account").click()
    tab.wait_for_load_state()
    assert tab.url == f"{endpoint}/join"
    _accessible(tab)
    _fill_signup(tab, "carol", "carol@example.com", "carol-password", "carol-passw0rd")
    expect(tab.locator(".form-error")).to_have_text("The passwords differ.")
    expect(tab.get_by_label("Username")).to_have_value("carol")  # what was typed stays
    _fill_signup(tab, "models", "carol@example.com", "carol-password")
    expect(tab.locator(".form-error")).to_contain_text("reserved")
    _fill_signup(tab, "carol", "carol@example.com", "carol-password")
    assert tab.url == f"{endpoint}/carol"  # signed in, on the new profile
    expect(tab.locator(".nav-user")).to_have_text("carol")
    token = _new_token(tab, endpoint, "carol-laptop")
    carol = HfApi(endpoint=endpoint, token=token)
    assert carol.whoami()["name"] == "carol"
    assert carol.whoami()["email"] == "carol@example.com"
    repo_id = carol.create_repo("first-model").repo_id
    assert anonymous(endpoint).model_info(repo_id).id == "carol/first-model"
    visitor.close()
    _set_signup(page, endpoint, False)  # closed again: the page is gone, the link too
    assert page.goto(f"{endpoint}/join").status == 404
    other = browser.new_context()
    stranger = other.new_page()
    stranger.goto(f"{endpoint}/login")
    expect(stranger.get_by_role("link", name="Create an account")).to_have_count(0)
    other.close()


def test_the_admin_creates_a_user_who_signs_in(endpoint, page, browser):
    sign_in(page, endpoint, "admin", "admin-password", "/admin/users")
    _create_user(page, endpoint, "dave", "dave-password")
    row = page.locator('tr[data-user="dave"]')
    expect(row).to_contain_text("dave@example.com")
    expect(row.locator(".user-status")).to_have_text("active")
    _create_user(page, endpoint, "frank", "frank-password", admin=True)
    expect(page.locator('tr[data-user="frank"]')).to_contain_text("admin")
    page.get_by_label("Username").fill("dave")  # taken: the service's refusal, shown
    page.get_by_label("Password").fill("another-password")
    page.get_by_role("button", name="Create user").click()
    page.wait_for_load_state()
    expect(page.locator(".form-error")).to_contain_text("already taken")
    _accessible(page)
    other = browser.new_context()
    tab = other.new_page()
    sign_in(tab, endpoint, "dave", "dave-password")
    expect(tab.locator(".nav-user")).to_have_text("dave")
    expect(tab.get_by_role("link", name="Admin")).to_have_count(0)
    tab.get_by_role("button", name="Sign out").click()
    tab.wait_for_load_state()
    sign_in(tab, endpoint, "frank", "frank-password")
    tab.goto(f"{endpoint}/")
    expect(tab.get_by_role("link", name="Admin")).to_be_visible()  # a site admin, as asked
    other.close()
    assert anonymous(endpoint).get_user_overview("dave").username == "dave"


def test_a_disabled_user_is_locked_out_until_enabled_again(endpoint, page, browser, hub):
    sign_in(page, endpoint, "admin", "admin-password")
    _create_user(page, endpoint, "erin", "erin-password")
    other = browser.new_context()
    tab = other.new_page()
    sign_in(tab, endpoint, "erin", "erin-password")
    erin = HfApi(endpoint=endpoint, token=_new_token(tab, endpoint, "erin-cli"))
    assert erin.whoami()["name"] == "erin"
    page.goto(f"{endpoint}/admin/users")
    page.get_by_role("button", name="Disable erin").click()
    page.wait_for_load_state()
    expect(page.locator(".form-done")).to_have_text("erin is disabled.")
    expect(page.locator('tr[data-user="erin"] .user-status')).to_have_text("disabled")
    time.sleep(CACHE_WAIT)
    tab.goto(f"{endpoint}/settings/tokens")
    assert tab.url.startswith(f"{endpoint}/login")  # the session ended
    with pytest.raises(HfHubHTTPError) as refused:
        erin.whoami()
    assert refused.value.response.status_code == 401  # the token is refused
    git_auth = httpx.get(f"{endpoint}/api/whoami-v2", auth=("erin", "erin-password"))
    assert git_auth.status_code == 401  # and the password over Basic auth (git)
    sign_in(tab, endpoint, "erin", "erin-password")
    expect(tab.locator(".form-error")).to_have_text(
        "This account is disabled: ask this hub's administrators"
    )
    tab.goto(f"{endpoint}/settings/tokens")
    assert tab.url.startswith(f"{endpoint}/login")  # no session was made
    # the admin may not disable themselves (no button; a posted form is refused)
    expect(page.locator('tr[data-user="admin"]').get_by_role("button")).to_have_count(0)
    form = {"csrf_token": page.locator("input[name=csrf_token]").first.input_value()}
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    posted = httpx.post(f"{endpoint}/admin/users/admin/disable", data=form, cookies=cookies)
    assert posted.status_code == 409 and "You cannot disable your own account" in posted.text
    assert HfApi(endpoint=endpoint, token=hub.tokens["admin"]).whoami()["name"] == "admin"
    page.get_by_role("button", name="Enable erin").click()
    page.wait_for_load_state()
    expect(page.locator('tr[data-user="erin"] .user-status')).to_have_text("active")
    time.sleep(CACHE_WAIT)
    assert erin.whoami()["name"] == "erin"  # the token works again
    sign_in(tab, endpoint, "erin", "erin-password")
    expect(tab.locator(".nav-user")).to_have_text("erin")
    other.close()


def test_only_site_admins_see_the_user_page(endpoint, page):
    assert page.goto(f"{endpoint}/admin/users").status == 404  # anonymous
    sign_in(page, endpoint, "alice", "alice-password")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    response = page.goto(f"{endpoint}/admin/users")
    assert response.status == 404
    expect(page.locator(".error-code")).to_have_text("404")
    page.goto(f"{endpoint}/settings/tokens")
    form = {"csrf_token": page.locator("input[name=csrf_token]").first.input_value()}
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    for path, data in (
        ("/admin/users", {"name": "mallory", "password": "mallory-password"}),
        ("/admin/users/bob/disable", {}),
        ("/admin/signup", {"open": "on"}),
    ):
        posted = httpx.post(f"{endpoint}{path}", data={**form, **data}, cookies=cookies)
        assert posted.status_code == 404, path
    with pytest.raises(HfHubHTTPError):
        anonymous(endpoint).get_user_overview("mallory")
    assert page.goto(f"{endpoint}/join").status == 404  # sign-up stayed closed


def test_an_organization_made_in_the_browser_with_members_and_roles(hub, endpoint, page, browser):
    sign_in(page, endpoint, "alice", "alice-password")
    page.locator(".nav-new summary").click()
    page.get_by_role("link", name="New organization").click()
    page.wait_for_load_state()
    assert page.url == f"{endpoint}/organizations/new"
    _accessible(page)
    page.get_by_label("Organization name").fill("acme")  # taken: refused, shown
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_load_state()
    expect(page.locator(".form-error")).to_contain_text("already taken")
    page.get_by_label("Organization name").fill("lab")
    page.get_by_label("Full name").fill("The Lab")
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_load_state()
    assert page.url == f"{endpoint}/lab"
    expect(page.locator("h1")).to_have_text("The Lab")
    expect(page.locator('[data-member="alice"] .member-role')).to_have_text("admin")
    page.get_by_role("link", name="Manage members").click()
    page.wait_for_load_state()
    assert page.url == f"{endpoint}/lab/settings/members"
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Role", exact=True).select_option("write")
    page.get_by_role("button", name="Add member").click()
    page.wait_for_load_state()
    expect(page.locator(".form-done")).to_have_text("bob is a member with the role write.")
    expect(page.get_by_label("Role of bob", exact=True)).to_have_value("write")
    _accessible(page)

    bob = HfApi(endpoint=endpoint, token=hub.tokens["bob"])
    time.sleep(CACHE_WAIT)
    lab = {org["name"]: org for org in bob.whoami()["orgs"]}["lab"]
    assert lab["roleInOrg"] == "write" and lab["fullname"] == "The Lab"
    assert bob.create_repo("lab/x").repo_id == "lab/x"
    members = HfApi(endpoint=endpoint, token=hub.tokens["alice"]).list_organization_members("lab")
    assert sorted(m.username for m in members) == ["alice", "bob"]

    page.get_by_label("Role of bob", exact=True).select_option("read")
    page.get_by_role("button", name="Change the role of bob").click()
    page.wait_for_load_state()
    expect(page.locator(".form-done")).to_have_text("bob's role is now read.")
    time.sleep(CACHE_WAIT)
    with pytest.raises(HfHubHTTPError) as refused:
        bob.create_repo("lab/y")
    assert refused.value.response.status_code == 403
    assert {org["name"]: org["roleInOrg"] for org in bob.whoami()["orgs"]}["lab"] == "read"
    assert not anonymous(endpoint).repo_exists("lab/y")

    # the last admin stays: the service's refusal is on the page
    page.get_by_label("Role of alice", exact=True).select_option("write")
    page.get_by_role("button", name="Change the role of alice").click()
    page.wait_for_load_state()
    expect(page.locator(".form-error")).to_contain_text("last admin of 'lab'")
    page.get_by_role("button", name="Remove alice").click()
    page.wait_for_load_state()
    expect(page.locator(".form-error")).to_contain_text("last admin of 'lab'")
    expect(page.get_by_label("Role of alice", exact=True)).to_have_value("admin")

    # a member who is no admin: roles shown on the org page, no settings
    other = browser.new_context()
    tab = other.new_page()
    sign_in(tab, endpoint, "bob", "bob-password", "/lab")
    expect(tab.locator('[data-member="bob"] .member-role')).to_have_text("read")
    expect(tab.get_by_role("link", name="Manage members")).to_have_count(0)
    assert tab.goto(f"{endpoint}/lab/settings/members").status == 404
    tab.goto(f"{endpoint}/lab")
    form = {"csrf_token": tab.locator("input[name=csrf_token]").first.input_value()}
    cookies = {c["name"]: c["value"] for c in other.cookies()}
    posted = httpx.post(
        f"{endpoint}/lab/settings/members",
        data={**form, "name": "bob", "role": "admin"},
        cookies=cookies,
    )
    assert posted.status_code == 404  # nor can he make himself admin
    other.close()
    # everyone sees who the members are, not their roles
    public = browser.new_context()
    visitor = public.new_page()
    visitor.goto(f"{endpoint}/lab")
    expect(visitor.locator(".member-list li")).to_have_count(2)
    expect(visitor.locator(".member-role")).to_have_count(0)
    _accessible(visitor)
    public.close()

    page.get_by_role("button", name="Remove bob").click()
    page.wait_for_load_state()
    expect(page.locator(".form-done")).to_have_text("bob is no longer a member.")
    expect(page.locator('tr[data-member="bob"]')).to_have_count(0)
    time.sleep(CACHE_WAIT)
    assert "lab" not in [org["name"] for org in bob.whoami()["orgs"]]


def test_the_new_menu_links_the_creation_pages(endpoint, page):
    sign_in(page, endpoint, "bob", "bob-password")
    menu = page.locator(".nav-new")
    expect(menu.get_by_role("link", name="New model")).to_be_hidden()  # closed at first
    menu.locator("summary").click()
    links = {
        name: menu.get_by_role("link", name=name).get_attribute("href")
        for name in ("New model", "New dataset", "New organization")
    }
    assert links == {
        "New model": "/new",
        "New dataset": "/new-dataset",
        "New organization": "/organizations/new",
    }
    _accessible(page)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    expect(page.locator(".nav-new")).to_have_count(0)  # signed out: no menu


def test_sign_up_is_limited_per_address(endpoint, page, browser):
    """Last in the module: it spends this address' sign-ups for the hour."""
    sign_in(page, endpoint, "admin", "admin-password")
    _set_signup(page, endpoint, True)
    other = browser.new_context()
    tab = other.new_page()
    answers = []
    for _ in range(7):  # taken names: refused, and counted all the same
        response = tab.goto(f"{endpoint}/join")
        assert response.status == 200
        _fill_signup(tab, "alice", "someone@example.com", "some-password")
        message = tab.locator(".form-error").inner_text()
        answers.append(message)
        if "Too many" in message:
            break
    assert "already taken" in answers[0]
    assert re.fullmatch(r"Too many sign-ups from this address; try again in \d+ min", answers[-1])
    _fill_signup(tab, "latecomer", "late@example.com", "late-password")
    expect(tab.locator(".form-error")).to_contain_text("Too many sign-ups")
    with pytest.raises(HfHubHTTPError):
        anonymous(endpoint).get_user_overview("latecomer")
    other.close()
    _set_signup(page, endpoint, False)
