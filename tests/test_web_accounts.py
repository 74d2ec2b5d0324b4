"""Signing in from a browser and managing access tokens (issue 13), in Chromium against a live
hub: sessions in a signed HttpOnly SameSite=Lax cookie, wrong passwords refused and limited,
tokens created (shown once), used with huggingface_hub, revoked; CSRF refused; the session
cookie never authorizes an API request."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from playwright.sync_api import expect

from helpers import serious_accessibility_violations, sign_in

HUB_ENV = {"HUBSTEAD_TOKEN_CACHE_SECONDS": "1"}


def test_sign_in_with_a_name_or_email_then_sign_out(endpoint, page):
    sign_in(page, endpoint, "alice", "alice-password")
    expect(page.locator(".nav-user")).to_have_text("alice")
    cookie = next(c for c in page.context.cookies() if c["name"] == "hubstead_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "hubstead_session"]
    # the old cookie is dead too: signing out deleted the session on the server (the other
    # web process trusts what it checked for the token cache's second)
    time.sleep(1.2)
    page.context.add_cookies([cookie])
    page.goto(f"{endpoint}/settings/tokens")
    assert page.url.startswith(f"{endpoint}/login")
    sign_in(page, endpoint, "bob@example.com", "bob-password", "/settings/tokens")
    assert page.url == f"{endpoint}/settings/tokens"
    expect(page.locator(".nav-user")).to_have_text("bob")


def test_wrong_passwords_are_refused_then_limited(endpoint, page):
    sign_in(page, endpoint, "admin", "not-the-password")
    expect(page.locator(".form-error")).to_have_text("Wrong username, email or password.")
    sign_in(page, endpoint, "nobody-at-all", "whatever")  # the same answer for no such user
    expect(page.locator(".form-error")).to_have_text("Wrong username, email or password.")
    for _ in range(4):
        sign_in(page, endpoint, "admin", "still-wrong")
    sign_in(page, endpoint, "admin", "admin-password")  # right, but past the limit
    expect(page.locator(".form-error")).to_contain_text("Too many sign-in attempts")
    assert not [c for c in page.context.cookies() if c["name"] == "hubstead_session"]
    response = httpx.post(
        f"{endpoint}/login",
        data={"login": "admin", "password": "admin-password"},
        headers={"X-CSRF-Token": "forged"},
    )
    assert response.status_code == 403  # and a form without its CSRF token gets nowhere
    assert not serious_accessibility_violations(page)


def test_a_token_made_in_the_page_works_until_revoked(endpoint, page):
    sign_in(page, endpoint, "alice", "alice-password", "/settings/tokens")
    page.get_by_label("Name").fill("from-the-browser")
    page.get_by_role("radio", name="write").check()
    page.get_by_role("button", name="Create token").click()
    page.wait_for_load_state()
    token = page.locator("#new-token").input_value()
    assert re.fullmatch(r"hf_\w{30,}", token)
    assert not serious_accessibility_violations(page)
    api = HfApi(endpoint=endpoint, token=token)
    assert api.whoami()["name"] == "alice"
    repo_id = api.create_repo("made-with-a-browser-token").repo_id
    page.goto(f"{endpoint}/settings/tokens")  # shown once: the page again lists it, no value
    assert page.locator("#new-token").count() == 0
    row = page.locator('tr[data-token="from-the-browser"]')
    expect(row).to_contain_text("write")
    assert "never" not in row.locator(".token-last-used").inner_text()  # its last use is shown
    expect(row.locator(".token-expiry")).to_have_text("never")  # made without an expiry
    row.get_by_role("button", name="Revoke from-the-browser").click()
    page.wait_for_load_state()
    expect(page.locator('tr[data-token="from-the-browser"]')).to_have_count(0)
    time.sleep(1.5)  # the token cache's seconds (HUBSTEAD_TOKEN_CACHE_SECONDS=1 here)
    with pytest.raises(HfHubHTTPError) as refused:
        api.whoami()
    assert refused.value.response.status_code == 401
    assert HfApi(endpoint=endpoint).repo_exists(repo_id)


def test_forms_need_their_csrf_token_and_the_cookie_never_authorizes_the_api(endpoint, page):
    sign_in(page, endpoint, "alice", "alice-password")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    # the browser's own cookies, but a form without (or with a wrong) token: refused
    for data in ({"name": "evil", "role": "write"}, {"name": "evil", "csrf_token": "0" * 64}):
        forged = httpx.post(f"{endpoint}/settings/tokens", data=data, cookies=cookies)
        assert forged.status_code == 403 and "did not come from this site" in forged.text
    page.goto(f"{endpoint}/settings/tokens")
    expect(page.locator('tr[data-token="evil"]')).to_have_count(0)
    # the session cookie alone is no credential for the API, for reading or for writing
    created = httpx.post(
        f"{endpoint}/api/repos/create", json={"name": "by-cookie"}, cookies=cookies
    )
    assert created.status_code == 401
    who = httpx.get(f"{endpoint}/api/whoami-v2", cookies=cookies)
    assert who.status_code == 401
    # a forged session cookie is no session
    page.context.add_cookies([{"name": "hubstead_session", "value": "abc.def", "url": endpoint}])
    page.goto(f"{endpoint}/settings/tokens")
    assert page.url.startswith(f"{endpoint}/login")


def test_the_sign_in_page_is_accessible(endpoint, page):
    page.goto(f"{endpoint}/login")
    assert not serious_accessibility_violations(page)
    page.emulate_media(color_scheme="dark")
    assert not serious_accessibility_violations(page)


def test_liking_a_model_from_its_page(api: HfApi, endpoint, page):
    repo_id = api.create_repo("likeable").repo_id
    page.goto(f"{endpoint}/{repo_id}")
    assert page.locator(".like-button").count() == 0  # signed out: the count only
    sign_in(page, endpoint, "alice", "alice-password", f"/{repo_id}")
    button = page.locator(".like-button")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    page.wait_for_load_state()
    expect(page.locator(".like-button")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".like-count")).to_have_text("1")
    assert api.model_info(repo_id).likes == 1
    assert api.list_liked_repos("alice").models == [repo_id]
    assert not serious_accessibility_violations(page)
    page.locator(".like-button").click()
    page.wait_for_load_state()
    expect(page.locator(".like-count")).to_have_text("0")
    assert api.model_info(repo_id).likes == 0


def test_changing_the_password_signs_other_browsers_out(endpoint, page, browser):
    other = browser.new_context()
    elsewhere = other.new_page()
    sign_in(elsewhere, endpoint, "bob", "bob-password")
    sign_in(page, endpoint, "bob", "bob-password", "/settings/password")
    page.get_by_label("Current password").fill("bob-password")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password, again").fill("short")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_load_state()  # the browser refuses it first (minlength): nothing was sent
    assert page.locator(".form-done").count() == 0
    page.get_by_label("New password", exact=True).fill("bob-new-password")
    page.get_by_label("New password, again").fill("bob-new-password")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_load_state()
    expect(page.locator(".form-done")).to_be_visible()
    assert not serious_accessibility_violations(page)
    time.sleep(1.2)  # the token cache's second, for the other web process
    elsewhere.goto(f"{endpoint}/settings/tokens")
    assert elsewhere.url.startswith(f"{endpoint}/login")  # its session ended
    page.goto(f"{endpoint}/settings/tokens")
    assert page.url == f"{endpoint}/settings/tokens"  # this one stays signed in
    sign_in(elsewhere, endpoint, "bob", "bob-password")
    expect(elsewhere.locator(".form-error")).to_be_visible()
    sign_in(elsewhere, endpoint, "bob", "bob-new-password")
    expect(elsewhere.locator(".nav-user")).to_have_text("bob")
    other.close()
