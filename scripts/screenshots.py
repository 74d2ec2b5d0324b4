"""Screenshots of the main pages for docs/screenshots/: light and dark, desktop and phone width.

Starts a throw-away hub on 127.0.0.1 with a few seeded repositories (cards with math, code, an
eval table and widget examples), then drives Debian's Chromium with Playwright. Run it through
`scripts/screenshots`, which installs what it needs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from huggingface_hub import HfApi
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


def seed(api: HfApi) -> None:
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
    for name, task, language, license_id in DEMOS:
        demo = api.create_repo(name).repo_id
        card = f"---\nlicense: {license_id}\nlanguage: {language}\npipeline_tag: {task}\n---\n# {name}\n"
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=demo)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    hub = LiveHub(Path(tempfile.mkdtemp(prefix="hubstead-shots-"))).start()
    try:
        seed(HfApi(endpoint=hub.endpoint, token=hub.tokens["alice"]))
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
            browser.close()
    finally:
        hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
