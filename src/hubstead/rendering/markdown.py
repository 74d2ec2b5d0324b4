"""Model card body (Markdown + raw HTML + math) → safe HTML, rendered on the server.

Pipeline, in this order because each step relies on the previous one:

1. Find the code regions (fenced/indented blocks from a block-only Markdown parse, and inline code
   spans) so that math inside code stays code.
2. Cut every `$$…$$` / `\\\\(…\\\\)` formula out of the source and put an unguessable placeholder
   in its place, then render all formulas with KaTeX in one round trip. Doing this before the
   Markdown parser is what the Hub documents, and it keeps `_`, `*`, `|` and `\\` inside TeX away
   from emphasis, tables and escapes.
3. Render Markdown (CommonMark + GFM tables, strikethrough, task lists, linkify; Pygments for
   fenced code).
4. Sanitize the whole document with the *card* policy (nh3/ammonia allow-list), which also rewrites
   relative links and images to the repository's URLs.
5. Sanitize each KaTeX fragment on its own with the stricter *math* policy (the only place where
   `style`, MathML and SVG are allowed), and only then put it back where its placeholder ended up.
   A placeholder that landed inside an attribute (alt text, a URL) gets the escaped TeX source.

Both policies run on everything that reaches the page, so a KaTeX bug or a forged placeholder
cannot smuggle markup past the sanitizer.
"""

from __future__ import annotations

import contextvars
import html
import re
import secrets
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from .math import find_math_spans, is_escaped, render_math

__all__ = ["pygments_css", "render_card_html"]

# --------------------------------------------------------------------------- Markdown


_FORMATTER = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=256)
def _lexer(lang: str) -> Lexer | None:
    """Pygments lexer for a fence's info string, or None; cached because lookups scan plugins."""
    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _highlight(code: str, lang: str, _attrs: str) -> str:
    """Class-based highlighting (no inline styles, so the sanitizer needs no style on code).

    Returning "" lets markdown-it escape and wrap the code itself (unknown or missing language:
    guessing is slow and often wrong).
    """
    lexer = _lexer(lang.strip().lower()) if lang.strip() else None
    if lexer is None:
        return ""
    body = pygments_highlight(code, lexer, _FORMATTER)
    css_lang = html.escape(lang.strip(), quote=True)
    return f'<pre class="highlight"><code class="language-{css_lang}">{body}</code></pre>'


def pygments_css(selector: str = ".highlight") -> str:
    """The stylesheet for the highlighted code classes (for the web layer to serve)."""
    # types-Pygments leaves HtmlFormatter.get_style_defs unannotated; it returns the CSS text.
    css: str = HtmlFormatter().get_style_defs(selector)  # type: ignore[no-untyped-call]
    return css


def _new_markdown() -> MarkdownIt:
    """CommonMark + GFM (tables, strikethrough, linkify) + task lists, raw HTML allowed.

    Raw HTML is allowed because real cards use it (centered logos, <details>, dark/light images);
    the sanitizer, not the parser, is what makes it safe.
    """
    md = MarkdownIt("gfm-like", {"html": True, "linkify": True, "typographer": False})
    md.options["highlight"] = _highlight
    md.use(tasklists_plugin, enabled=False)
    return md


def _new_block_parser() -> MarkdownIt:
    """Same block grammar, no inline pass: only used to locate code blocks, so it must be cheap."""
    md = MarkdownIt("gfm-like", {"html": True})
    md.disable(["inline", "linkify", "text_join"])
    return md


_MD = _new_markdown()
_BLOCKS = _new_block_parser()

# --------------------------------------------------------------------------- code regions

_BACKTICKS = re.compile(r"`+")


def _code_blocks(text: str, code: list[bool]) -> None:
    """Flag every character of fenced and indented code blocks (line ranges from markdown-it)."""
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    starts.append(len(text))
    for token in _BLOCKS.parse(text):
        if token.type in ("fence", "code_block") and token.map:
            first, last = token.map
            begin, end = starts[first], starts[min(last, len(starts) - 1)]
            code[begin:end] = [True] * (end - begin)


def _code_spans(text: str, code: list[bool]) -> None:
    """Flag inline code spans: a run of N backticks up to the next run of exactly N (CommonMark).

    Spans never cross a blank line or a code block; an escaped first backtick is literal.
    """
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text) if not code[m.start()]]
    index = 0
    while index < len(runs):
        start, end = runs[index]
        if is_escaped(text, start):
            start += 1
        size, closing, gap_start = end - start, None, end
        for later in range(index + 1, len(runs)):
            c_start, c_end = runs[later]
            # Only the gap since the previous run is checked, so a long paragraph stays linear.
            if "\n\n" in text[gap_start:c_start] or any(code[gap_start:c_start]):
                break
            if c_end - c_start == size:
                closing = later
                break
            gap_start = c_end
        if size == 0 or closing is None:
            index += 1
            continue
        stop = runs[closing][1]
        code[start:stop] = [True] * (stop - start)
        index = closing + 1


def _code_mask(text: str) -> list[bool]:
    """One flag per character of `text`: True inside code, where `$$` is just text."""
    code = [False] * len(text)
    _code_blocks(text, code)
    _code_spans(text, code)
    return code


# --------------------------------------------------------------------------- math placeholders


class _Formulas:
    """The formulas cut out of one card, keyed by placeholder, with their sources and HTML."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(8)
        self.sources: list[str] = []
        self.html: list[str] = []
        self.pattern = re.compile(rf"HSMATH{self.nonce}N(\d+)X")

    def placeholder(self, index: int) -> str:
        """Letters and digits only: nothing in Markdown, linkify or HTML treats them specially."""
        return f"HSMATH{self.nonce}N{index}X"


def _extract_math(text: str) -> tuple[str, _Formulas]:
    """Replace each formula with a placeholder and render them all with KaTeX (one round trip)."""
    formulas = _Formulas()
    if "$$" not in text and "\\\\(" not in text:
        return text, formulas
    spans = find_math_spans(text, _code_mask(text))
    if not spans:
        return text, formulas
    pieces, cursor = [], 0
    for index, span in enumerate(spans):
        pieces += [text[cursor : span.start], formulas.placeholder(index)]
        formulas.sources.append(text[span.start : span.end])
        cursor = span.end
    pieces.append(text[cursor:])
    rendered = render_math([(span.tex, span.display) for span in spans])
    formulas.html = [_MATH_CLEANER.clean(fragment) for fragment in rendered]
    return "".join(pieces), formulas


# A tag in html5ever's serialization: attribute values are always double-quoted there.
_TAG = re.compile(r'<(?:[^>"]|"[^"]*")*>')


def _restore_math(document: str, formulas: _Formulas) -> str:
    """Put the sanitized KaTeX HTML back in text, and the escaped TeX source inside tags."""
    if not formulas.sources:
        return document

    def in_text(match: re.Match[str]) -> str:
        return formulas.html[int(match.group(1))]

    def in_tag(match: re.Match[str]) -> str:
        return html.escape(formulas.sources[int(match.group(1))], quote=True)

    out, cursor = [], 0
    for tag in _TAG.finditer(document):
        out.append(formulas.pattern.sub(in_text, document[cursor : tag.start()]))
        out.append(formulas.pattern.sub(in_tag, tag.group(0)))
        cursor = tag.end()
    out.append(formulas.pattern.sub(in_text, document[cursor:]))
    return "".join(out)


# --------------------------------------------------------------------------- URLs

_PREFIXES: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("card_url_prefixes")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")
_DOT_DOT = {"..", ".%2e", "%2e.", "%2e%2e"}
_DOT = {".", "%2e"}


def _normalise_relative(path: str) -> str | None:
    """Resolve `.`/`..` (also percent-encoded, as browsers do) inside the repository.

    None when the path climbs above the repository root: such a link is dropped rather than
    pointed at another repository's URLs.
    """
    parts: list[str] = []
    for segment in path.replace("\\", "/").split("/"):
        lowered = segment.lower()
        if segment == "" or lowered in _DOT:
            continue
        if lowered in _DOT_DOT:
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(segment)
    return "/".join(parts)


def _rewrite_url(value: str, prefix: str) -> str | None:
    """Relative repository paths → prefix + path; anything absolute or an anchor is untouched.

    Runs after the sanitizer's scheme check (ammonia's order), so `value` already has an allowed
    scheme or none; the result is the trusted prefix plus a path and cannot gain a scheme.
    """
    stripped = value.strip()
    if not stripped or stripped[0] in "#/\\?" or _SCHEME.match(stripped):
        return value
    cut = min(
        (i for i in (stripped.find("?"), stripped.find("#")) if i >= 0), default=len(stripped)
    )
    path = _normalise_relative(stripped[:cut])
    if path is None:
        return None
    return prefix.rstrip("/") + "/" + path + stripped[cut:]


_TEXT_ALIGN = re.compile(r"^\s*text-align\s*:\s*(left|right|center)\s*;?\s*$", re.IGNORECASE)


def _card_attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """Rewrite repository-relative URLs; keep table alignment as the only inline style."""
    if (tag, attr) in (("a", "href"), ("img", "src")):
        resolve_prefix, blob_prefix = _PREFIXES.get()
        return _rewrite_url(value, resolve_prefix if tag == "img" else blob_prefix)
    if attr == "style":
        match = _TEXT_ALIGN.match(value)
        return f"text-align:{match.group(1).lower()}" if match else None
    return value


# --------------------------------------------------------------------------- sanitizer policies

_CARD_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "wbr", "blockquote", "div", "span",
    "center", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th",
    "td", "caption", "pre", "code", "kbd", "samp", "var", "em", "strong", "b", "i", "u", "s",
    "del", "ins", "strike", "mark", "small", "sub", "sup", "abbr", "cite", "q", "a", "img",
    "details", "summary", "figure", "figcaption", "input",
}  # fmt: skip

_CARD_ATTRIBUTES = {
    "*": {"class", "title", "align", "dir", "lang"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height", "loading"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "details": {"open"},
    "input": {"checked"},
}

# Elements whose *content* is dropped too: their text is code or would be shown as garbage.
_DROP_WITH_CONTENT = {
    "script", "style", "template", "noscript", "noembed", "noframes", "xmp", "iframe", "object",
    "title", "textarea", "select", "svg", "math",
}  # fmt: skip

_CARD_CLEANER = nh3.Cleaner(
    tags=_CARD_TAGS,
    clean_content_tags=_DROP_WITH_CONTENT,
    attributes=_CARD_ATTRIBUTES,
    attribute_filter=_card_attribute_filter,
    url_schemes={"http", "https", "mailto"},
    link_rel="nofollow noopener noreferrer",
    # Any <input> is a disabled checkbox, whatever the author wrote (task lists are the only use).
    set_tag_attribute_values={"input": {"type": "checkbox", "disabled": "disabled"}},
    filter_style_properties={"text-align"},
    strip_comments=True,
)

_MATHML_TAGS = {
    "math", "semantics", "annotation", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "msup",
    "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable",
    "mtr", "mtd", "mlabeledtr", "mpadded", "mphantom", "mstyle", "menclose", "merror",
}  # fmt: skip

_MATHML_ATTRIBUTES = {
    "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "depth",
    "displaystyle", "fence", "height", "largeop", "linebreak", "linethickness", "lspace",
    "mathbackground", "mathcolor", "mathsize", "mathvariant", "maxsize", "minsize",
    "movablelimits", "notation", "rowlines", "rowspacing", "rspace", "scriptlevel", "separator",
    "stretchy", "symmetric", "voffset", "width", "rowalign", "equalrows", "equalcolumns",
}  # fmt: skip

_MATH_ATTRIBUTES: dict[str, set[str]] = {tag: set(_MATHML_ATTRIBUTES) for tag in _MATHML_TAGS}
_MATH_ATTRIBUTES["math"] |= {"xmlns", "display"}
_MATH_ATTRIBUTES["annotation"] = {"encoding"}
_MATH_ATTRIBUTES.update(
    span={"class", "style", "aria-hidden", "title"},
    svg={"xmlns", "width", "height", "viewBox", "preserveAspectRatio", "style"},
    path={"d"},
    line={"x1", "y1", "x2", "y2", "stroke-width"},
)
for _styled in ("mpadded", "mstyle", "menclose"):  # \fcolorbox, \pmb in the MathML tree
    _MATH_ATTRIBUTES[_styled] = _MATH_ATTRIBUTES[_styled] | {"style"}

# Every property KaTeX 0.19 writes into style="" (grep `style.` in dist/katex.js).
_KATEX_STYLE_PROPERTIES = {
    "height", "width", "min-width", "vertical-align", "top", "bottom", "left", "margin", "border",
    "margin-left", "margin-right", "margin-top", "padding-left", "border-width", "border-style",
    "border-color", "border-top-width", "border-bottom-width", "border-right-width",
    "border-right-style", "color", "background-color", "text-shadow", "position",
}  # fmt: skip
# Values KaTeX produces are numbers with units, keywords and #hex colours: no parentheses, so no
# url(), expression(), var() or image functions can get through even if KaTeX had a bug.
_SAFE_CSS_VALUE = re.compile(r"^[-#.%a-zA-Z0-9 ]+\Z")


def _math_attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """Value-level check of KaTeX's inline styles, on top of nh3's property-name filter."""
    if attr != "style":
        return value
    kept = []
    for declaration in value.split(";"):
        name, sep, val = declaration.partition(":")
        name, val = name.strip().lower(), val.strip()
        if not sep or name not in _KATEX_STYLE_PROPERTIES or not _SAFE_CSS_VALUE.match(val):
            continue
        if name == "position" and val != "relative":
            continue  # KaTeX only uses relative; fixed/absolute could overlay the page
        kept.append(f"{name}:{val}")
    return ";".join(kept) or None


_MATH_CLEANER = nh3.Cleaner(
    tags={"span", "svg", "path", "line"} | _MATHML_TAGS,
    clean_content_tags={"script", "style"},
    attributes=_MATH_ATTRIBUTES,
    attribute_filter=_math_attribute_filter,
    url_schemes=set(),
    link_rel=None,
    filter_style_properties=_KATEX_STYLE_PROPERTIES,
    strip_comments=True,
)

# --------------------------------------------------------------------------- entry point


def _normalise_source(markdown: str) -> str:
    """What markdown-it does first anyway; done up front so character offsets line up."""
    return markdown.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def render_card_html(markdown: str, *, resolve_prefix: str, blob_prefix: str) -> str:
    """Safe HTML for a model card body (the README without its YAML front matter).

    resolve_prefix / blob_prefix are the URL prefixes relative images / links are appended to,
    e.g. "/alice/model/resolve/main/" and "/alice/model/blob/main/".
    Raises MathRendererUnavailable if the card has math and Node.js/KaTeX cannot be used.
    """
    text, formulas = _extract_math(_normalise_source(markdown))
    rendered = _MD.render(text)
    token = _PREFIXES.set((resolve_prefix, blob_prefix))
    try:
        document = _CARD_CLEANER.clean(rendered)
    finally:
        _PREFIXES.reset(token)
    return _restore_math(document, formulas)
