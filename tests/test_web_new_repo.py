"""Creating repositories from the browser (issue 13): /new and /new-dataset in Chromium against a
live hub. A new model starts with the model-card template (metadata with license and language,
the sections of a model card with hints), read back with huggingface_hub; name clashes, owners
the user may not write to and bad names are refused next to their field; a private repository
is private for the client."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, ModelCard, hf_hub_download
from huggingface_hub.errors import RepositoryNotFoundError
from playwright.sync_api import expect

from helpers import anonymous, serious_accessibility_violations, sign_in
from hubstead.domain.cards import split_card, validate_card_text
from hubstead.domain.cards.template import (
    DATASET_CARD_SECTIONS,
    MODEL_CARD_SECTIONS,
    NewCard,
    dataset_card,
    model_card,
)
from hubstead.domain.cards.vocabulary import LICENSES
from hubstead.rendering import render_card_html

HUB_ENV = {"HUBSTEAD_TOKEN_CACHE_SECONDS": "1"}


def fill_new_repo(page, owner: str, name: str, license_id: str, language: str | None = None):
    page.get_by_label("Owner").select_option(owner)
    page.get_by_label(re.compile(r"^(Model|Dataset) name$")).fill(name)
    page.get_by_label("License").select_option(license_id)
    if language is not None:
        page.get_by_label("Language codes").fill(language)


def submit(page, button: str) -> int:
    """Click the form's button; the status of the POST's answer (before any redirect)."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    return answer.value.status


def session_of(page) -> tuple[dict[str, str], str]:
    """The browser's cookies and a CSRF token of its forms, for requests made without it."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return cookies, page.locator("input[name=csrf_token]").first.input_value()


# -- the template, without a server ------------------------------------------------------------


@pytest.mark.parametrize("license_id", ["apache-2.0", "other", "unknown"])
@pytest.mark.parametrize("languages", [("en",), (), ("no", "fr")])
def test_the_templates_are_valid_cards_for_every_choice(license_id, languages):
    for text, kind in (
        (model_card(NewCard("acme/my_model-1.0", license_id, languages)), "model"),
        (dataset_card(NewCard("acme/data", license_id, languages)), "dataset"),
    ):
        result = validate_card_text(text, kind)
        assert result.errors == [] and result.warnings == []
        metadata = split_card(text).metadata
        assert metadata["license"] == license_id
        assert metadata.get("language", []) == list(languages)
        html = render_card_html(split_card(text).body, resolve_prefix="/r/", blob_prefix="/b/")
        assert "&lt;!--" not in html and "<!--" not in html  # the hints are not shown


def test_anonymous_visitors_are_sent_to_sign_in(endpoint, page):
    for path in ("/new", "/new-dataset"):
        page.goto(f"{endpoint}{path}")
        assert page.url == f"{endpoint}/login?next={path}"
    sign_in(page, endpoint, "alice", "alice-password", "/new")
    assert page.url == f"{endpoint}/new"
    expect(page.get_by_role("heading", name="Create a new model repository")).to_be_visible()


def test_a_model_created_in_an_organization_starts_from_the_card_template(
    endpoint, open_as, api: HfApi, tmp_path: Path
):
    page = open_as("alice", "/new")
    owners = page.get_by_label("Owner").locator("option").all_inner_texts()
    assert owners == ["alice", "acme"]  # alice administers acme
    assert page.get_by_label("License").locator("option").count() == len(LICENSES) + 1
    expect(page.get_by_label("Language codes")).to_have_value("en")
    fill_new_repo(page, "acme", "card-from-template", "cc-by-4.0", "en, fr")
    assert submit(page, "Create model") == 303
    assert page.url == f"{endpoint}/acme/card-from-template"
    repo_id = "acme/card-from-template"

    info = api.model_info(repo_id)
    assert info.private is False
    assert info.card_data.license == "cc-by-4.0"
    assert info.card_data.language == ["en", "fr"]
    assert "license:cc-by-4.0" in info.tags
    assert not [tag for tag in info.tags if tag.startswith("arxiv:")]  # the citation is no paper
    [first, initial] = api.list_repo_commits(repo_id)
    assert first.title == "Add the model card from the template" and first.authors == ["alice"]
    path = hf_hub_download(repo_id, "README.md", endpoint=endpoint, cache_dir=tmp_path)
    card = ModelCard.load(path)
    assert card.data.license == "cc-by-4.0" and card.data.language == ["en", "fr"]
    headings = re.findall(r"(?m)^## (.+)$", card.text)
    assert headings == list(MODEL_CARD_SECTIONS)
    for expected in (
        "### Intended uses",
        "### Out-of-scope uses",
        "### Training data",
        "### Training parameters",
        "### Experiment tracking",
        "**Tracking link:**",
        "**Base model:**",
        "**Developed by:** acme",
        "Mitchell et al., 2018",
        "Model Cards for Model Reporting",
        "<!--",
    ):
        assert expected in card.text, expected
    # the server judges the committed card valid, without a warning, as the validator route says
    validated = httpx.post(
        f"{endpoint}/api/validate-yaml",
        json={"content": Path(path).read_text(), "repoType": "model"},
    )
    assert validated.status_code == 200 and validated.json() == {"errors": [], "warnings": []}

    # and the page renders it: every section, no hint comments, the license linked
    for section in MODEL_CARD_SECTIONS:
        expect(page.locator(".markdown h2", has_text=section)).to_be_visible()
    assert "<!--" not in page.locator(".markdown").inner_html()
    assert "More information needed" in page.locator(".markdown").inner_text()
    expect(page.get_by_role("link", name="cc-by-4.0").first).to_be_visible()


def test_a_dataset_starts_from_the_dataset_card(endpoint, open_as, api: HfApi, tmp_path: Path):
    page = open_as("alice", "/new-dataset")
    expect(page.get_by_role("heading", name="Create a new dataset repository")).to_be_visible()
    fill_new_repo(page, "alice", "reviews-from-the-browser", "odc-by", "")
    assert submit(page, "Create dataset") == 303
    repo_id = "alice/reviews-from-the-browser"
    assert page.url == f"{endpoint}/datasets/{repo_id}"
    info = api.dataset_info(repo_id)
    assert info.card_data.license == "odc-by"
    assert info.card_data.language is None  # left empty: no language field
    path = hf_hub_download(
        repo_id, "README.md", repo_type="dataset", endpoint=endpoint, cache_dir=tmp_path
    )
    text = Path(path).read_text()
    assert re.findall(r"(?m)^## (.+)$", text)[: len(DATASET_CARD_SECTIONS)] == list(
        DATASET_CARD_SECTIONS
    )
    assert f'load_dataset("{repo_id}")' in text
    expect(page.locator(".markdown h2", has_text="Dataset structure")).to_be_visible()


def test_a_name_that_is_taken_is_refused_next_to_the_field(endpoint, open_as, api: HfApi):
    existing = api.create_repo("taken-name").repo_id
    page = open_as("alice", "/new")
    fill_new_repo(page, "alice", "Taken-Name", "mit")  # ids ignore case
    assert submit(page, "Create model") == 409
    error = page.locator("#name-error")
    expect(error).to_contain_text("already exists")
    expect(page.get_by_label("Model name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Model name")).to_have_value("Taken-Name")  # the form is kept
    expect(page.get_by_label("License")).to_have_value("mit")
    assert [c.title for c in api.list_repo_commits(existing)] == ["initial commit"]
    assert not serious_accessibility_violations(page)

    # what the browser's own checks stop, the server refuses too: a bad name, no license, a
    # language code that is none, an owner the user may not write to
    cookies, csrf = session_of(page)

    def post(**fields: str) -> httpx.Response:
        form = {"owner": "alice", "name": "fine-name", "license": "mit", "language": "en"}
        return httpx.post(
            f"{endpoint}/new", data={**form, **fields, "csrf_token": csrf}, cookies=cookies
        )

    bad_name = post(name="bad--name")
    assert bad_name.status_code == 400 and "forbidden" in bad_name.text
    assert post(license="apache2").status_code == 400
    bad_language = post(language="en, english")
    assert bad_language.status_code == 400 and "Not a language code: english" in bad_language.text
    assert not api.repo_exists("alice/fine-name")


def test_a_reader_of_an_organization_cannot_create_in_it(endpoint, open_as, hub):
    page = open_as("bob", "/new")
    owners = page.get_by_label("Owner").locator("option").all_inner_texts()
    assert owners == ["bob"]  # bob only reads acme
    cookies, csrf = session_of(page)
    forged = httpx.post(
        f"{endpoint}/new",
        data={"owner": "acme", "name": "by-a-reader", "license": "mit", "csrf_token": csrf},
        cookies=cookies,
    )
    assert forged.status_code == 403 and "cannot create repositories under" in forged.text
    no_csrf = httpx.post(
        f"{endpoint}/new",
        data={"owner": "bob", "name": "no-token", "license": "mit"},
        cookies=cookies,
    )
    assert no_csrf.status_code == 403
    bob = HfApi(endpoint=endpoint, token=hub.tokens["bob"])
    assert not bob.repo_exists("acme/by-a-reader") and not bob.repo_exists("bob/no-token")


def test_a_private_repository_is_created_private(endpoint, open_as, api: HfApi):
    page = open_as("alice", "/new")
    fill_new_repo(page, "alice", "secret-model", "apache-2.0")
    page.locator("input[name=visibility][value=private]").check()
    assert submit(page, "Create model") == 303
    expect(page.locator(".repo-kind .badge")).to_have_text("Private")
    assert api.model_info("alice/secret-model").private is True
    with pytest.raises(RepositoryNotFoundError):
        anonymous(endpoint).model_info("alice/secret-model")


def test_the_new_repository_pages_are_accessible(endpoint, open_as):
    page = open_as("alice", "/new?owner=acme")  # an organization's page may preselect it
    expect(page.get_by_label("Owner")).to_have_value("acme")
    assert not serious_accessibility_violations(page)
    page.goto(f"{endpoint}/new-dataset")
    page.emulate_media(color_scheme="dark")
    assert not serious_accessibility_violations(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{endpoint}/new")
    assert not serious_accessibility_violations(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than a phone's screen
