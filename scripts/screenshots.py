"""Screenshots of the main pages for docs/screenshots/: light and dark, desktop and phone width.

Starts a throw-away hub on 127.0.0.1 with a few seeded repositories (cards with math, code, an
eval table and widget examples), then drives Debian's Chromium with Playwright. Run it through
`scripts/screenshots`, which installs what it needs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi
from playwright.sync_api import sync_playwright

from hubstead.testing import LiveHub

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import tiny_models  # noqa: E402 - the tests' tiny random-weight models, for the widgets

OUT = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CARD = """---
license: apache-2.0
base_model: alice/tiny-bert
language: en
pipeline_tag: text-classification
library_name: transformers
datasets: [imdb]
tags: [sentiment]
model-index:
- name: tiny-sentiment
  results:
  - task: {type: text-classification, name: Text Classification}
    dataset: {name: IMDB, type: imdb, split: test}
    metrics:
    - {type: accuracy, value: 0.91, name: Accuracy}
widget:
- text: I loved this movie!
---
# Tiny sentiment

A small classifier trained on movie reviews. Its loss is $$L = -\\sum_i y_i \\log p_i$$

```python
from transformers import pipeline
classify = pipeline("text-classification", model="alice/tiny-sentiment")
```

| split | accuracy |
|---|---|
| test | 0.91 |
"""
DEMOS = [
    ("translate-en-fr", "translation", "fr", "mit"),
    ("whisper-mini", "automatic-speech-recognition", "en", "mit"),
    ("vit-tiny", "image-classification", "en", "apache-2.0"),
]
PAGES = {
    "home": "/",
    "models": "/models",
    "model": "/alice/tiny-sentiment",
    "files": "/alice/tiny-sentiment/tree/main",
    "commits": "/alice/tiny-sentiment/commits/main",
}
# widgets run once Compute is clicked: (name, page, what the drawn answer shows)
WIDGETS = [
    ("classification", "/alice/tiny-sentiment", ".score-row"),
    ("chat", "/alice/tiny-chat", ".chat-assistant[data-done]"),
]
# the write pages, signed in: (name, who, page)
SIGNED_IN_PAGES = [
    ("tokens", "alice", "/settings/tokens"),
    ("new-model", "alice", "/new?owner=acme"),
    ("upload", "alice", "/alice/tiny-sentiment/upload/main"),
    ("card-editor", "alice", "/alice/tiny-sentiment/edit/main/README.md"),
    ("repo-settings", "alice", "/alice/tiny-sentiment/settings"),
    ("pull-request", "alice", "/alice/tiny-sentiment/discussions/1"),
    ("org-members", "alice", "/acme/settings/members"),
    ("admin-users", "admin", "/admin/users"),
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


# the model tree of tiny-sentiment: its base model, and models derived from it
FAMILY = [
    (
        "tiny-bert",
        "---\nlicense: apache-2.0\nlanguage: en\npipeline_tag: fill-mask\n---\n# tiny-bert\n",
    ),
    (
        "tiny-sentiment-lora",
        "---\nbase_model: alice/tiny-sentiment\nbase_model_relation: adapter\n---\n# LoRA\n",
    ),
    (
        "tiny-sentiment-int8",
        "---\nbase_model: alice/tiny-sentiment\nbase_model_relation: quantized\n---\n# int8\n",
    ),
    ("tiny-sentiment-fr", "---\nbase_model: alice/tiny-sentiment\nlanguage: fr\n---\n# French\n"),
]


def seed(api: HfApi, bob_token: str) -> None:
    for name, card in FAMILY:
        member = api.create_repo(name).repo_id
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=member)
    repo = api.create_repo("tiny-sentiment").repo_id
    work = Path(tempfile.mkdtemp(prefix="hubstead-shots-models-"))
    weights = tiny_models.build("text-classification", work / "sentiment")
    api.upload_folder(folder_path=str(weights), repo_id=repo, ignore_patterns=["README.md"])
    api.upload_file(path_or_fileobj=CARD.encode(), path_in_repo="README.md", repo_id=repo)
    chat = api.create_repo("tiny-chat").repo_id
    api.upload_folder(
        folder_path=str(tiny_models.build("text-generation", work / "chat")), repo_id=chat
    )
    bob = HfApi(endpoint=api.endpoint, token=bob_token)
    bob.create_commit(
        repo,
        [CommitOperationAdd("notes.md", b"# Notes\n\nTrained for 3 epochs at lr 2e-5.\n")],
        commit_message="Add training notes",
        commit_description="The hyperparameters of the run, for the card.",
        create_pr=True,
    )
    for name, task, language, license_id in DEMOS:
        demo = api.create_repo(name).repo_id
        card = f"---\nlicense: {license_id}\nlanguage: {language}\npipeline_tag: {task}\n---\n# {name}\n"
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=demo)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    hub = LiveHub(Path(tempfile.mkdtemp(prefix="hubstead-shots-"))).start()
    try:
        seed(HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"]), hub.tokens["bob"])
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            for scheme in ("light", "dark"):
                for width, viewport in VIEWPORTS.items():
                    context = browser.new_context(viewport=viewport, color_scheme=scheme)
                    page = context.new_page()
                    for name, path in PAGES.items():
                        page.goto(hub.endpoint + path)
                        target = OUT / f"{name}-{width}-{scheme}.png"
                        page.screenshot(path=str(target))
                        print(target.relative_to(OUT.parents[1]))
                    if width == "desktop":  # the whole model page: side panel, tree and widget
                        page.goto(hub.endpoint + PAGES["model"])
                        target = OUT / f"model-full-{width}-{scheme}.png"
                        page.screenshot(path=str(target), full_page=True)
                        print(target.relative_to(OUT.parents[1]))
                        for name, path, drawn in WIDGETS:
                            page.goto(hub.endpoint + path)
                            page.locator("#widget-compute").click()
                            page.locator(drawn).first.wait_for(timeout=120_000)
                            target = OUT / f"widget-{name}-{scheme}.png"
                            page.locator(".widget").screenshot(path=str(target))
                            print(target.relative_to(OUT.parents[1]))
                    context.close()
            shoot_signed_in(browser, hub.endpoint)
            browser.close()
    finally:
        hub.stop()
    return 0


def signed_in_state(browser, endpoint: str, who: str) -> dict:
    """A browser's cookies after signing in once (sign-ins are limited per account)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{endpoint}/login")
    page.get_by_label("Username or email").fill(who)
    page.get_by_label("Password").fill(f"{who}-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    state = context.storage_state()
    context.close()
    return state


def prepare(page, name: str) -> None:
    """Put a page in the state worth showing: a linter finding, chosen files."""
    if name == "card-editor":
        text = page.locator("#card-text")
        text.fill(text.input_value().replace("license: apache-2.0", "license: apache2"))
        page.locator(".finding-error").first.wait_for()
    elif name == "upload":
        page.locator("#upload-files").set_input_files(
            [
                {
                    "name": "model.safetensors",
                    "mimeType": "application/octet-stream",
                    "buffer": bytes(2_000_000),
                },
                {"name": "config.json", "mimeType": "application/json", "buffer": b"{}"},
            ]
        )
        page.locator("#upload-summary").fill("Add the weights")
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")


def shoot_signed_in(browser, endpoint: str) -> None:
    states = {who: signed_in_state(browser, endpoint, who) for who in ("alice", "admin")}
    for scheme in ("light", "dark"):
        for width, viewport in VIEWPORTS.items():
            for name, who, path in SIGNED_IN_PAGES:
                context = browser.new_context(
                    viewport=viewport, color_scheme=scheme, storage_state=states[who]
                )
                page = context.new_page()
                page.goto(endpoint + path)
                prepare(page, name)
                target = OUT / f"{name}-{width}-{scheme}.png"
                page.screenshot(path=str(target), full_page=width == "desktop")
                print(target.relative_to(OUT.parents[1]))
                context.close()


if __name__ == "__main__":
    sys.exit(main())
