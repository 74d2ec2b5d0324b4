"""The repository pages (issue 11): the card page, files and versions, commits with their diffs
and the community tab, fetched over HTTP and driven in a real browser (Debian's Chromium)."""

from __future__ import annotations

import json
import re
import struct
from html.parser import HTMLParser

import httpx
import pytest
from huggingface_hub import HfApi

from helpers import serious_accessibility_violations

PAGE = {"Accept": "text/html,application/xhtml+xml"}

README = """---
license: apache-2.0
language:
- en
datasets:
- acme/reviews
tags:
- sentiment
pipeline_tag: text-classification
library_name: transformers
widget:
- text: I love this hub!
  example_title: Positive review
- text: The download was slow.
  example_title: Negative review
model-index:
- name: web-model
  results:
  - task:
      type: text-classification
      name: Text Classification
    dataset:
      type: acme/reviews
      name: Acme Reviews
      split: test
    metrics:
    - type: accuracy
      value: 0.912
      name: Accuracy
---
# Web model

A small model to show the repository page. The loss is $$x^2$$ here.

```python
from transformers import pipeline
```

| metric | value |
|---|---|
| accuracy | 0.91 |
"""


def safetensors_bytes() -> bytes:
    header = {
        "__metadata__": {"format": "pt"},
        "embed.weight": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]},
        "head.bias": {"dtype": "F32", "shape": [3], "data_offsets": [48, 60]},
    }
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(60)


@pytest.fixture(scope="module")
def model(api: HfApi) -> dict:
    repo_id = api.create_repo("web-model").repo_id
    api.upload_file(
        path_or_fileobj=json.dumps(
            {"architectures": ["BertForSequenceClassification"], "model_type": "bert"}, indent=2
        ).encode(),
        path_in_repo="config.json",
        repo_id=repo_id,
    )
    api.upload_file(
        path_or_fileobj=safetensors_bytes(), path_in_repo="model.safetensors", repo_id=repo_id
    )
    second = api.upload_file(
        path_or_fileobj=README.encode(),
        path_in_repo="README.md",
        repo_id=repo_id,
        commit_message="Add the model card",
    )
    api.create_tag(repo_id, tag="v1")
    discussion = api.create_discussion(
        repo_id, title="Does it work on French?", description="Asking about **French** input."
    )
    return {"id": repo_id, "commit_url": second.commit_url, "discussion": discussion.num}


class _Meta(HTMLParser):
    def __init__(self):
        super().__init__()
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and (attrs.get("property") or attrs.get("name")):
            self.meta[attrs.get("property") or attrs["name"]] = attrs.get("content") or ""


def no_violations(page) -> None:
    violations = serious_accessibility_violations(page)
    assert violations == [], violations


def test_model_page_in_the_browser(model: dict, endpoint: str, page):
    response = page.goto(f"{endpoint}/{model['id']}")
    assert response.status == 200
    assert page.locator("h1.repo-title").inner_text() == model["id"]
    assert page.locator(".card-body .katex").count() >= 1
    assert page.locator(".card-body table").count() == 1
    assert page.locator(".card-body pre.highlight").count() == 1
    license_tag = page.locator('a.chip[data-tag="license:apache-2.0"]')
    assert license_tag.get_attribute("href") == "/models?license=apache-2.0"
    assert page.locator('a.chip[data-tag="en"]').get_attribute("href") == "/models?language=en"
    assert page.locator('a.chip[data-tag="transformers"]').get_attribute("href") == (
        "/models?library=transformers"
    )
    assert page.locator('a.chip[data-tag^="region:"]').count() == 0
    eval_table = page.locator(".eval-table")
    assert "Accuracy" in eval_table.inner_text() and "0.912" in eval_table.inner_text()
    widget = page.locator(".widget")
    assert widget.locator("textarea").first.input_value() == "I love this hub!"
    assert "Text Classification" in widget.inner_text()  # the widget runs the model (widget.js)
    assert widget.get_by_role("button", name="Compute").is_enabled()
    assert widget.locator("#widget-example option").all_inner_texts() == [
        "Positive review",
        "Negative review",
    ]
    side = page.locator(".repo-side").inner_text()
    assert "F32" in side and "15" in side  # 12 + 3 parameters
    assert "acme/reviews" in side
    assert 'pipeline("text-classification", model="alice/web-model")' in side
    no_violations(page)
    page.locator('a.chip[data-tag="text-classification"]').click()
    page.wait_for_load_state()
    assert page.url.endswith("/models?pipeline_tag=text-classification")


def test_plain_http_page_and_social_tags(model: dict, endpoint: str):
    response = httpx.get(f"{endpoint}/{model['id']}", headers=PAGE)
    assert response.status_code == 200
    html = response.text
    assert "/-/static/katex/katex.min.css" in html and "/-/static/highlight.css" in html
    parser = _Meta()
    parser.feed(html)
    meta = parser.meta
    assert meta["og:title"] == model["id"]
    assert meta["og:description"].startswith("A small model")
    assert meta["twitter:card"] == "summary_large_image"
    image = httpx.get(meta["og:image"])
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg")
    assert "web-model" in image.text
    css = httpx.get(f"{endpoint}/-/static/highlight.css")
    assert css.status_code == 200 and ".highlight" in css.text


def test_files_and_file_viewer(model: dict, endpoint: str, page):
    page.goto(f"{endpoint}/{model['id']}")
    page.get_by_role("link", name="Files and versions").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/{model['id']}/tree/main")
    table = page.locator(".file-table")
    for name in ("config.json", "model.safetensors", "README.md", ".gitattributes"):
        assert name in table.inner_text()
    weights_row = table.locator("tr", has_text="model.safetensors")
    assert re.search(r"\b(LFS|Xet)\b", weights_row.inner_text())
    assert "Add the model card" in table.locator("tr", has_text="README.md").inner_text()
    assert page.locator("#rev-select option", has_text="v1").count() == 1
    no_violations(page)

    page.get_by_role("link", name="config.json", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/{model['id']}/blob/main/config.json")
    code = page.locator("pre.code-view")
    assert "BertForSequenceClassification" in code.inner_text()
    assert code.locator("span").count() > 0  # highlighted
    raw = page.get_by_role("link", name="Raw")
    assert raw.get_attribute("href") == f"/{model['id']}/resolve/main/config.json"
    no_violations(page)

    page.goto(f"{endpoint}/{model['id']}/blob/main/model.safetensors")
    tensors = page.locator(".tensor-table").inner_text()
    assert "embed.weight" in tensors and "4×3" in tensors
    no_violations(page)

    page.goto(f"{endpoint}/{model['id']}/blob/main/README.md")
    assert page.locator("article.markdown .katex").count() >= 1


def test_branch_picker_works_without_javascript(model: dict, endpoint: str):
    response = httpx.get(f"{endpoint}/{model['id']}/tree/main?rev=v1", headers=PAGE)
    assert response.status_code == 303
    assert response.headers["location"] == f"/{model['id']}/tree/v1"
    tagged = httpx.get(f"{endpoint}/{model['id']}/tree/v1", headers=PAGE)
    assert tagged.status_code == 200 and "config.json" in tagged.text
    missing = httpx.get(f"{endpoint}/{model['id']}/tree/nope", headers=PAGE)
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def test_commits_and_commit_diff(model: dict, endpoint: str, page):
    page.goto(f"{endpoint}/{model['id']}/commits/main")
    rows = page.locator(".commit-row")
    assert rows.count() >= 3
    assert "Add the model card" in rows.first.inner_text()
    no_violations(page)
    rows.first.locator("a.commit-title").click()
    page.wait_for_load_state()
    assert "/commit/" in page.url
    diff = page.locator(".diff-file", has_text="README.md")
    assert "$$x^2$$" in diff.inner_text() and "added" in diff.inner_text()
    no_violations(page)

    page.goto(f"{endpoint}/{model['id']}/commits/main")
    page.locator(".commit-row", has_text="model.safetensors").locator("a.commit-title").click()
    page.wait_for_load_state()
    lfs = page.locator(".lfs-change")
    assert lfs.count() == 1 and "(new) →" in lfs.inner_text()


def test_commit_url_from_the_api_opens_the_commit_page(model: dict):
    response = httpx.get(model["commit_url"], headers=PAGE)
    assert response.status_code == 200
    assert "Add the model card" in response.text and "diff-file" in response.text


def test_discussions_list_and_thread(model: dict, endpoint: str, page):
    page.goto(f"{endpoint}/{model['id']}")
    page.get_by_role("link", name="Community").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/{model['id']}/discussions")
    row = page.locator(".discussion-row").first
    assert "Does it work on French?" in row.inner_text()
    no_violations(page)
    row.locator("a").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/discussions/{model['discussion']}")
    assert page.locator(".comment strong", has_text="French").count() == 1
    no_violations(page)
    missing = httpx.get(f"{endpoint}/{model['id']}/discussions/999", headers=PAGE)
    assert missing.status_code == 404


def test_private_repository_is_a_404_page_for_others(api: HfApi, endpoint: str, browser, hub):
    repo_id = api.create_repo("hidden-model", private=True).repo_id
    api.upload_file(path_or_fileobj=b"# Secret\n", path_in_repo="README.md", repo_id=repo_id)
    bob = browser.new_context(
        viewport={"width": 1280, "height": 900},
        extra_http_headers={"Authorization": f"Bearer {hub.tokens['bob']}"},
    )
    try:
        tab = bob.new_page()
        for suffix in ("", "/tree/main", "/blob/main/README.md", "/commits/main", "/discussions"):
            response = tab.goto(f"{endpoint}/{repo_id}{suffix}")
            assert response.status == 404, suffix
            assert "Secret" not in tab.content()
            assert tab.locator("h1").inner_text() == "Page not found"
            no_violations(tab)
    finally:
        bob.close()
    # exactly like a repository that does not exist, signed in or not
    for token in (hub.tokens["bob"], None):
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        private = httpx.get(f"{endpoint}/{repo_id}", headers={**PAGE, **auth})
        missing = httpx.get(f"{endpoint}/alice/never-created", headers={**PAGE, **auth})
        assert private.status_code == missing.status_code == (404 if token else 401)
        assert "text/html" in private.headers["content-type"] and "Secret" not in private.text
    owner = httpx.get(
        f"{endpoint}/{repo_id}",
        headers={**PAGE, "Authorization": f"Bearer {hub.tokens['alice']}"},
    )
    assert owner.status_code == 200 and "Secret" in owner.text


def test_keyboard_reaches_the_tabs(model: dict, endpoint: str, page):
    page.goto(f"{endpoint}/{model['id']}")
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.textContent")
        if focused and focused.strip() == "Files and versions":
            break
    else:
        pytest.fail("Tab never reached the Files and versions tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/{model['id']}/tree/main")


def test_dataset_page(api: HfApi, endpoint: str, page):
    repo_id = api.create_repo("web-data", repo_type="dataset").repo_id
    api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n# Reviews\n\nSome reviews.\n",
        path_in_repo="README.md",
        repo_id=repo_id,
        repo_type="dataset",
    )
    response = page.goto(f"{endpoint}/datasets/{repo_id}")
    assert response.status == 200
    assert page.get_by_role("link", name="Dataset card").get_attribute("aria-current") == "page"
    assert page.locator('a.chip[data-tag="license:mit"]').get_attribute("href") == (
        "/datasets?license=mit"
    )
    no_violations(page)
    page.get_by_role("link", name="Files and versions").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/datasets/{repo_id}/tree/main")


def _card(**fields: object) -> str:
    lines = ["---"]
    for key, value in fields.items():
        if isinstance(value, list):
            lines += [f"{key}:"] + [f"- {item}" for item in value]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n---\n# A model of the family\n"


@pytest.fixture(scope="module")
def family(api: HfApi) -> dict[str, str]:
    """A base model; a fine-tune, an adapter and a quantization of it (and a private fine-tune
    of alice); a fine-tune of the fine-tune; a model whose base is not on this hub."""
    cards = {
        "tree-base": _card(license="mit"),
        "tree-ft": _card(base_model="alice/tree-base"),
        "tree-adapter": _card(base_model="alice/tree-base", base_model_relation="adapter"),
        "tree-quant": _card(base_model="alice/tree-base", base_model_relation="quantized"),
        "tree-ft-ft": _card(base_model="alice/tree-ft"),
        "tree-orphan": _card(base_model="someone/not-here", language=["en", "xx"]),
    }
    ids = {}
    for name, readme in cards.items():
        ids[name] = api.create_repo(name).repo_id
        api.upload_file(
            path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=ids[name]
        )
    ids["private-ft"] = api.create_repo("tree-private-ft", private=True).repo_id
    api.upload_file(
        path_or_fileobj=_card(base_model="alice/tree-base").encode(),
        path_in_repo="README.md",
        repo_id=ids["private-ft"],
    )
    return ids


def _tree(endpoint: str, repo_id: str, token: str | None = None) -> str:
    headers = {**PAGE, **({"Authorization": f"Bearer {token}"} if token else {})}
    html = httpx.get(f"{endpoint}/{repo_id}", headers=headers).text
    found = re.search(r'<ol class="model-tree".*?</ol>', html, re.S)
    return found.group(0) if found else ""


def test_model_tree_counts_what_derives_from_a_model(family, endpoint: str, hub):
    tree = _tree(endpoint, family["tree-base"])
    counts = dict(
        re.findall(r">(Adapters|Finetunes|Quantizations|Merges)</a> <span[^>]*>(\d+) model", tree)
    )
    assert counts == {"Adapters": "1", "Finetunes": "1", "Quantizations": "1"}
    assert 'href="/models?other=base_model%3Afinetune%3Aalice%2Ftree-base"' in tree
    # alice also sees her private fine-tune
    mine = _tree(endpoint, family["tree-base"], hub.tokens["alice"])
    assert re.search(r">Finetunes</a> <span[^>]*>2 models", mine)
    listed = httpx.get(
        f"{endpoint}/models", params={"other": "base_model:finetune:alice/tree-base"}, headers=PAGE
    ).text
    assert "alice/tree-ft" in listed and "alice/tree-private-ft" not in listed


def test_model_tree_walks_up_to_the_root(family, endpoint: str, page):
    page.goto(f"{endpoint}/{family['tree-ft-ft']}")
    nodes = page.locator(".model-tree .tree-node")
    texts = [nodes.nth(i).inner_text() for i in range(nodes.count())]
    assert texts[0].lower().startswith("base model") and "alice/tree-base" in texts[0]
    assert "alice/tree-ft" in texts[1] and "finetuned" in texts[1]
    assert "alice/tree-ft-ft" in texts[2] and "this model" in texts[2]
    # the header names the base once; the relation tag only feeds the tree
    assert page.locator('a.chip[data-tag="base_model:alice/tree-ft"]').count() == 1
    assert page.locator('.chip[data-tag="base_model:finetune:alice/tree-ft"]').count() == 0
    page.locator(".model-tree a", has_text="alice/tree-base").click()
    page.wait_for_load_state()
    assert page.url.endswith("/alice/tree-base")
    no_violations(page)


def test_unknown_identifiers_are_flagged_not_linked(family, endpoint: str, page):
    page.goto(f"{endpoint}/{family['tree-orphan']}")
    missing = page.locator(".model-tree .tree-missing")
    assert "someone/not-here" in missing.inner_text() and "not on this hub" in missing.inner_text()
    assert page.locator('a.chip[data-tag="en"]').inner_text() == "English"
    unknown = page.locator('.chip.unknown[data-tag="xx"]')
    assert unknown.count() == 1 and "not a known language code" in unknown.inner_text()
    assert page.locator('a.chip[data-tag="xx"]').count() == 0
    no_violations(page)
