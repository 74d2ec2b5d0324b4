"""The browse side of the web UI: the home page, the model and dataset lists with their filter
sidebar, the identifier lists and the profiles; over HTTP and in a real browser (Chromium)."""

from __future__ import annotations

import json
import re
import struct
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from helpers import serious_accessibility_violations
from hubstead.web.tasks import MODALITY_OF, grouped

MODELS = {
    # name: (pipeline_tag, library, languages, license)
    "bert-reviews": ("text-classification", "transformers", ["en"], "mit"),
    "bert-ner-de": ("token-classification", "transformers", ["de"], "mit"),
    "gpt-small-en": ("text-generation", "transformers", ["en"], "apache-2.0"),
    "vit-birds": ("image-classification", "timm", [], "apache-2.0"),
    "whisper-fr": ("automatic-speech-recognition", "transformers", ["fr"], "apache-2.0"),
    "classifier-fr": ("text-classification", "transformers", ["fr"], "mit"),
}
PRIVATE = "hidden-classifier"
MODEL_INDEX = """model-index:
- name: bert-reviews
  results:
  - task:
      type: text-classification
    dataset:
      name: Reviews
      type: acme/reviews
    metrics:
    - type: accuracy
      value: 0.91
    - type: f1
      value: 0.9
"""


def card(pipeline: str, library: str, languages: list[str], license: str, extra: str = "") -> str:
    lines = ["---", f"pipeline_tag: {pipeline}", f"library_name: {library}", f"license: {license}"]
    if languages:
        lines += ["language:"] + [f"- {code}" for code in languages]
    return "\n".join(lines) + "\n" + extra + "---\n# A model\n\nFor the browse tests.\n"


def _safetensors(parameters: int) -> bytes:
    header = json.dumps(
        {"weight": {"dtype": "F32", "shape": [parameters], "data_offsets": [0, 4 * parameters]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + bytes(4 * parameters)


def _upload(api: HfApi, repo_id: str, readme: str, repo_type: str = "model", **files: bytes):
    operations = [CommitOperationAdd("README.md", readme.encode())]
    operations += [CommitOperationAdd(path, data) for path, data in files.items()]
    api.create_commit(repo_id, operations, commit_message="seed", repo_type=repo_type)


@pytest.fixture(scope="module")
def catalog(hub, api: HfApi) -> dict[str, str]:
    """Public models of alice with different cards, a private one, an org model, a dataset."""
    ids = {}
    for name, spec in MODELS.items():
        repo_id = api.create_repo(f"alice/{name}").repo_id
        extra = MODEL_INDEX if name == "bert-reviews" else ""
        files = {"config.json": b'{"model_type": "bert"}'}
        if name == "vit-birds":
            files["model.safetensors"] = _safetensors(1500)
        _upload(api, repo_id, card(*spec, extra=extra), **files)
        ids[name] = repo_id
    secret = api.create_repo(f"alice/{PRIVATE}", private=True).repo_id
    _upload(api, secret, card("text-classification", "transformers", ["en"], "mit"))
    ids[PRIVATE] = secret
    org_model = api.create_repo("acme/org-classifier").repo_id
    _upload(api, org_model, card("text-classification", "transformers", ["en"], "mit"))
    ids["org-classifier"] = org_model
    dataset = api.create_repo("alice/movie-reviews", repo_type="dataset").repo_id
    _upload(
        api,
        dataset,
        "---\nlicense: mit\nlanguage:\n- en\ntask_categories:\n- text-classification\n---\n# Reviews\n",
        repo_type="dataset",
    )
    ids["dataset"] = dataset
    like = httpx.post(
        f"{hub.endpoint}/api/models/{ids['vit-birds']}/like",
        headers={"Authorization": f"Bearer {hub.tokens['alice']}"},
        timeout=30,
    )
    assert like.status_code == 200
    return ids


HTML = {"Accept": "text/html,application/xhtml+xml"}


def get(hub, path: str, **params) -> httpx.Response:
    return httpx.get(hub.endpoint + path, params=params, headers=HTML, timeout=30)


def listed(html: str) -> list[str]:
    """The repository ids of a list page, in order."""
    return re.findall(r'<h[34] class="repo-id"><a href="/(?:datasets/)?([^"]+)">', html)


# -- plain HTTP -----------------------------------------------------------------------------


def test_pages_answer(hub, catalog):
    for path in ("/", "/models", "/datasets", "/tasks", "/languages", "/licenses", "/metrics"):
        response = get(hub, path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert "<main" in response.text
    assert get(hub, "/alice").status_code == 200
    assert get(hub, "/acme").status_code == 200


def test_home_shows_counts_and_lists(hub, catalog):
    html = get(hub, "/").text
    assert 'role="search"' in html
    assert "alice/bert-reviews" in html or "alice/classifier-fr" in html
    assert "alice/movie-reviews" in html
    assert PRIVATE not in html
    # 7 public models (alice's six and acme's) and one dataset
    assert "<strong>7</strong> models" in html
    assert "<strong>1</strong> datasets" in html


def test_filters_by_task_language_license_library(hub, catalog):
    assert set(listed(get(hub, "/models", pipeline_tag="text-classification").text)) == {
        catalog["bert-reviews"],
        catalog["classifier-fr"],
        catalog["org-classifier"],
    }
    assert set(
        listed(get(hub, "/models", pipeline_tag="text-classification", language="fr").text)
    ) == {catalog["classifier-fr"]}
    assert set(listed(get(hub, "/models", license="apache-2.0").text)) == {
        catalog["gpt-small-en"],
        catalog["vit-birds"],
        catalog["whisper-fr"],
    }
    assert set(listed(get(hub, "/models", library="timm").text)) == {catalog["vit-birds"]}
    assert listed(get(hub, "/datasets", language="en").text) == [catalog["dataset"]]
    assert listed(get(hub, "/datasets", pipeline_tag="text-classification").text) == [
        catalog["dataset"]
    ]


def test_rows_show_task_parameters_and_likes(hub, catalog):
    html = get(hub, "/models", library="timm").text
    assert "Image Classification" in html
    assert "1.5k params" in html
    assert re.search(r"♥</span> 1<", html)


def test_sidebar_groups_tasks_by_modality_with_counts(hub, catalog):
    html = get(hub, "/models").text
    for heading in ("Natural Language Processing", "Computer Vision", "Audio"):
        assert f"<h4>{heading}</h4>" in html
    assert re.search(r'Text Classification <span class="facet-count">3<', html)
    for heading in ("Libraries", "Languages", "Licenses"):
        assert f">{heading}</h3>" in html
    assert "data-facet-filter" in html


def test_search_sort_and_private(hub, catalog):
    assert set(listed(get(hub, "/models", search="bert").text)) == {
        catalog["bert-reviews"],
        catalog["bert-ner-de"],
    }
    assert listed(get(hub, "/models", sort="likes").text)[0] == catalog["vit-birds"]
    created = listed(get(hub, "/models", sort="created").text)
    assert created[0] == catalog["org-classifier"]
    assert created.index(catalog["bert-reviews"]) > created.index(catalog["classifier-fr"])
    for path in ("/", "/models", "/alice"):
        assert PRIVATE not in get(hub, path).text
    signed_in = httpx.get(
        hub.endpoint + "/models",
        headers={**HTML, "Authorization": f"Bearer {hub.tokens['alice']}"},
        timeout=30,
    )
    assert catalog[PRIVATE] in listed(signed_in.text)


def test_pages_walk_forward_and_back(hub, catalog):
    seen: list[str] = []
    params: dict[str, str] | None = {"sort": "created", "limit": "2"}
    pages = []
    url = hub.endpoint + "/models"
    while True:
        response = httpx.get(url, params=params, headers=HTML, timeout=30)
        ids = listed(response.text)
        assert 1 <= len(ids) <= 2
        pages.append(ids)
        seen += ids
        found = re.search(r'href="([^"]+)" rel="next"', response.text)
        if not found:
            break
        url, params = hub.endpoint + found.group(1).replace("&amp;", "&"), None
        assert "cursor=" in url
    assert len(seen) == len(set(seen)) == 7
    assert len(pages) == 4
    # and back again with Prev, page by page
    html = response.text
    for expected in reversed(pages[:-1]):
        found = re.search(r'href="([^"]+)" rel="prev"', html)
        assert found
        html = httpx.get(
            hub.endpoint + found.group(1).replace("&amp;", "&"), headers=HTML, timeout=30
        ).text
        assert listed(html) == expected
    assert 'rel="prev"' not in html


def test_chips_drop_their_filter(hub, catalog):
    html = get(hub, "/models", pipeline_tag="text-classification", language="fr").text
    chips = dict(re.findall(r'<a class="chip removable" href="([^"]+)" data-chip="([^"]+)"', html))
    by_filter = {v: k.replace("&amp;", "&") for k, v in chips.items()}
    assert set(by_filter) == {"pipeline_tag=text-classification", "language=fr"}
    assert parse_qs(urlparse(by_filter["language=fr"]).query) == {
        "pipeline_tag": ["text-classification"]
    }


def test_identifier_lists(hub, catalog):
    tasks = get(hub, "/tasks").text
    assert 'href="/models?pipeline_tag=text-classification"' in tasks
    assert "Reinforcement Learning" in tasks
    languages = get(hub, "/languages").text
    assert 'href="/models?language=fr"' in languages
    licenses = get(hub, "/licenses").text
    assert "Apache license 2.0" in licenses
    assert 'href="/models?license=mit"' in licenses
    metrics = get(hub, "/metrics").text
    assert "<code>accuracy</code>" in metrics and "<code>f1</code>" in metrics


def test_profiles(hub, catalog):
    alice = get(hub, "/alice").text
    assert catalog["bert-reviews"] in alice and catalog["dataset"] in alice
    assert PRIVATE not in alice
    assert 'href="/acme"' in alice
    acme = get(hub, "/acme").text
    assert catalog["org-classifier"] in acme
    assert 'href="/alice"' in acme and 'href="/bob"' in acme


def test_missing_pages_are_html_for_browsers_and_json_for_clients(hub, catalog):
    missing = get(hub, "/nobody-at-all")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Page not found" in missing.text
    for path in ("/api/models/nobody/nothing", "/api/no-such-endpoint"):
        response = httpx.get(hub.endpoint + path, timeout=30)
        assert response.status_code in (401, 404), path  # the Hub's 401 for an unknown repo
        assert response.headers["content-type"].startswith("application/json"), path
        assert "error" in response.json()
    # the API still answers as before: the pages shadow none of it
    assert (
        httpx.get(hub.endpoint + "/api/models", timeout=30)
        .headers["content-type"]
        .startswith("application/json")
    )


def test_task_groups_cover_the_vocabulary():
    from hubstead.domain.cards.vocabulary import PIPELINE_TYPES

    assert set(MODALITY_OF) == set(PIPELINE_TYPES)
    groups = grouped({}, keep_empty=True)
    assert sum(len(g["tasks"]) for g in groups) == len(PIPELINE_TYPES)


# -- in the browser -------------------------------------------------------------------------


def _ids(page) -> list[str]:
    return [a.inner_text() for a in page.locator(".repo-id a").all()]


def test_browser_sidebar_clicks_and_chips(hub, catalog, page):
    page.goto(hub.endpoint + "/models")
    page.get_by_role("link", name=re.compile(r"^Text Classification \d")).click()
    page.wait_for_url(re.compile(r"pipeline_tag=text-classification"))
    page.locator("#facet-language").locator("..").get_by_role(
        "link", name=re.compile(r"^fr \d")
    ).click()
    page.wait_for_url(re.compile(r"language=fr"))
    assert _ids(page) == [catalog["classifier-fr"]]
    page.locator('[data-chip="language=fr"]').click()
    page.wait_for_url(lambda url: "language=fr" not in url)
    assert set(_ids(page)) == {
        catalog["bert-reviews"],
        catalog["classifier-fr"],
        catalog["org-classifier"],
    }


def test_browser_facet_filter_box(hub, catalog, page):
    page.goto(hub.endpoint + "/models")
    timm = page.locator('li[data-facet-value="timm"]')
    assert timm.is_visible()
    page.fill("#facet-filter", "speech")
    assert not timm.is_visible()
    assert page.locator('li[data-facet-value^="automatic-speech-recognition"]').is_visible()


def test_browser_keyboard_search(hub, catalog, page):
    page.goto(hub.endpoint + "/models")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "site-search-input":
            break
    assert page.evaluate("document.activeElement.id") == "site-search-input"
    page.keyboard.type("whisper")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"search=whisper"))
    assert _ids(page) == [catalog["whisper-fr"]]


def test_browser_sort_and_pages(hub, catalog, page):
    page.goto(hub.endpoint + "/models?limit=3")
    page.select_option("#list-sort", "likes")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"sort=likes"))
    assert _ids(page)[0] == catalog["vit-birds"]
    first = _ids(page)
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url(re.compile(r"cursor="))
    assert not set(_ids(page)) & set(first)
    page.get_by_role("link", name="← Previous").click()
    page.wait_for_url(re.compile(r"before="))
    assert _ids(page) == first


def test_browser_private_repo_hidden_from_anonymous(hub, catalog, page):
    page.goto(hub.endpoint + "/models?pipeline_tag=text-classification")
    assert catalog[PRIVATE] not in _ids(page)
    page.goto(hub.endpoint + "/alice")
    assert PRIVATE not in page.content()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/models",
        "/models?pipeline_tag=text-classification&language=fr",
        "/datasets",
        "/tasks",
        "/languages",
        "/licenses",
        "/metrics",
        "/alice",
        "/acme",
        "/nobody-at-all",
    ],
)
def test_browser_accessibility(hub, catalog, page, path):
    page.goto(hub.endpoint + path)
    assert serious_accessibility_violations(page) == []


def _total(html: str) -> str:
    found = re.search(r"data-total>([^<]+)<", html)
    assert found, "no total in the list heading"
    return found.group(1)


def test_heading_counts_the_matches(hub, catalog):
    assert _total(get(hub, "/models").text) == "7"
    assert _total(get(hub, "/models", pipeline_tag="text-classification").text) == "3"
    assert (
        _total(get(hub, "/models", pipeline_tag="text-classification", language="fr").text) == "1"
    )
    assert _total(get(hub, "/models", search="bert").text) == "2"
    assert _total(get(hub, "/models", license="bsd").text) == "0"
    assert _total(get(hub, "/datasets", language="en").text) == "1"
    signed_in = httpx.get(
        hub.endpoint + "/models",
        params={"pipeline_tag": "text-classification"},
        headers={**HTML, "Authorization": f"Bearer {hub.tokens['alice']}"},
        timeout=30,
    )
    assert _total(signed_in.text) == "4"  # and her private classifier


def test_language_list_names_the_codes(hub, catalog):
    html = get(hub, "/languages").text
    row = re.search(r"<code>fr</code></th>\s*<td>([^<]+)</td>", html)
    assert row and row.group(1) == "French"


def test_browser_phone_folds_the_filters(hub, catalog, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        phone.goto(f"{hub.endpoint}/models?language=fr")
        panel = phone.locator("details.filters-panel")
        assert panel.get_attribute("open") is None  # folded: the results come first
        assert "(1 active)" in phone.locator("summary").inner_text()
        task = phone.get_by_role("link", name=re.compile(r"^Text Classification"))
        assert not task.is_visible()
        phone.locator("details.filters-panel > summary").click()
        assert task.is_visible()
        task.click()
        phone.wait_for_load_state()
        assert set(listed(phone.content())) == {catalog["classifier-fr"]}
        assert serious_accessibility_violations(phone) == []
    finally:
        context.close()
    wide = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        desk = wide.new_page()
        desk.goto(f"{hub.endpoint}/models")
        assert desk.locator("details.filters-panel").get_attribute("open") is not None
    finally:
        wide.close()
