"""Server-side rendering of model cards: Markdown + raw HTML + KaTeX math → sanitized HTML.

The hub stores the rendered HTML next to the card and re-renders it when RENDERER_VERSION differs
from the stored one, so the version must change whenever the output for the same input can change
(a new katex pin, a new Markdown plugin, a different sanitizer policy).
"""

from __future__ import annotations

from .markdown import pygments_css, render_card_html
from .math import MathRendererUnavailable, render_math

# "<our revision>+katex<pinned katex version>"; tests check the katex part against package.json.
RENDERER_VERSION = "1+katex0.19.1"

__all__ = [
    "RENDERER_VERSION",
    "MathRendererUnavailable",
    "pygments_css",
    "render_card_html",
    "render_math",
]
