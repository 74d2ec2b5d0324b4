"""Model card rendering: Markdown + KaTeX math → sanitized HTML (hubstead.rendering).

These tests need Node.js and <repo>/node_modules/katex (`npm ci`, or ensure_node_assets from
scripts/lib/node.sh); they start no hub server.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hubstead.rendering import (
    RENDERER_VERSION,
    MathRendererUnavailable,
    render_card_html,
    render_math,
)
from hubstead.rendering import math as math_module

REPO_ROOT = Path(__file__).resolve().parents[1]
RESOLVE = "/alice/model/resolve/main/"
BLOB = "/alice/model/blob/main/"


def render(markdown: str) -> str:
    return render_card_html(markdown, resolve_prefix=RESOLVE, blob_prefix=BLOB)


# --------------------------------------------------------------------------- HTML inspection


class _Collector(HTMLParser):
    """Every start tag with its attributes (values already unescaped by html.parser)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def parse(document: str) -> _Collector:
    collector = _Collector()
    collector.feed(document)
    collector.close()
    return collector


def elements(document: str, name: str) -> list[dict[str, str | None]]:
    return [dict(attrs) for tag, attrs in parse(document).tags if tag == name]


FORBIDDEN_ELEMENTS = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "form",
    "meta", "base", "link", "button", "textarea", "select", "option", "template", "noscript",
    "video", "audio", "source", "marquee", "body", "html", "head", "title", "foreignobject",
}  # fmt: skip
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "xlink:href", "data", "srcset", "poster",
    "background", "codebase", "cite", "dynsrc", "lowsrc", "content",
}  # fmt: skip
DANGEROUS_SCHEMES = {"javascript", "vbscript", "data", "livescript"}


def url_scheme(value: str) -> str:
    """The scheme a browser would see: unescape, drop whitespace/control chars, lowercase."""
    cleaned = html.unescape(html.unescape(value))
    cleaned = "".join(ch for ch in cleaned if ord(ch) > 0x20 and ch != "\x7f")
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else ""


def assert_inert(document: str) -> None:
    """No active content survives: elements, handlers, URL schemes, risky styles."""
    for tag, attrs in parse(document).tags:
        assert tag not in FORBIDDEN_ELEMENTS, (tag, document)
        for name, value in attrs:
            value = value or ""
            assert not name.lower().startswith("on"), (tag, name, document)
            if name.lower() in URL_ATTRIBUTES:
                assert url_scheme(value) not in DANGEROUS_SCHEMES, (tag, name, value)
            if name.lower() == "style":
                lowered = value.lower().replace(" ", "")
                for bad in (
                    "url(",
                    "expression",
                    "javascript",
                    "position:fixed",
                    "position:absolute",
                    "@import",
                    "behavior",
                    "-moz-binding",
                ):
                    assert bad not in lowered, (tag, value)
        if tag == "input":
            attributes = dict(attrs)
            assert attributes.get("type") == "checkbox" and "disabled" in attributes, attrs


# --------------------------------------------------------------------------- math


def test_display_math_same_line():
    out = render("Energy: $$E=mc^2$$ done")
    assert 'class="katex-display"' in out
    assert 'class="katex"' in out
    assert "<math" in out and 'display="block"' in out
    assert '<annotation encoding="application/x-tex">E=mc^2</annotation>' in out
    assert "$$" not in out


def test_display_math_block_form():
    out = render("Before\n\n$$\n\\sum_{i=1}^{n} x_i\n$$\n\nAfter")
    assert out.count('class="katex-display"') == 1
    assert "$$" not in out
    assert "<p>Before</p>" in out and "<p>After</p>" in out


def test_inline_math_double_backslash_paren():
    out = render("Inline \\\\(a_1 + b^2\\\\) here.")
    assert 'class="katex"' in out
    assert "katex-display" not in out
    assert "\\\\(" not in out and "\\\\)" not in out
    assert "<p>Inline <span" in out and "here.</p>" in out


def test_hub_doc_example_renders():
    tex = r"\mathrm{MSE} = \left(\frac{1}{n}\right)\sum_{i=1}^{n}(y_{i} - x_{i})^{2}"
    out = render(f"$$ {tex} $$")
    assert "katex-error" not in out
    assert "mfrac" in out and "frac-line" in out


def test_currency_is_not_math():
    out = render("It costs $5 and $10, or $ 20.")
    assert "katex" not in out
    assert "<p>It costs $5 and $10, or $ 20.</p>" in out


def test_escaped_dollars_are_not_math():
    out = render(r"Literal \$\$x\$\$ here")
    assert "katex" not in out
    assert "$$x$$" in out


def test_math_is_protected_from_markdown():
    out = render("$$a_1 * b_2 * c_3$$ and \\\\(x_i | y_j\\\\)")
    assert "<em>" not in out
    assert "a_1 * b_2 * c_3</annotation>" in out
    assert "x_i | y_j</annotation>" in out


def test_math_with_pipe_inside_table_cell():
    out = render("| a | b |\n|---|---|\n| $$x|y$$ | 2 |\n")
    cells = elements(out, "td")
    assert len(cells) == 2
    assert "katex" in out and "$$" not in out


def test_math_inside_fenced_code_stays_code():
    out = render("```\n$$E=mc^2$$ and \\\\(x\\\\)\n```\n\n~~~python\ny = '$$z$$'\n~~~\n")
    assert "katex" not in out
    assert "$$E=mc^2$$ and \\\\(x\\\\)" in out
    assert "$$z$$" in out


def test_math_inside_indented_code_stays_code():
    out = render("Text\n\n    $$not math$$\n")
    assert "katex" not in out
    assert "<pre><code>$$not math$$" in out


def test_math_inside_inline_code_stays_code():
    out = render("Use `$$x$$` or ``\\\\(y\\\\)`` but $$z$$ is math")
    assert "<code>$$x$$</code>" in out
    assert "<code>\\\\(y\\\\)</code>" in out
    assert out.count('class="katex-display"') == 1


def test_math_spanning_code_is_not_math():
    out = render("$$ a `code $$` b")
    assert "katex" not in out
    assert "<code>code $$</code>" in out


def test_math_in_fenced_code_inside_list_and_quote():
    out = render("- item\n\n  ```\n  $$q$$\n  ```\n\n> ```\n> \\\\(r\\\\)\n> ```\n")
    assert "katex" not in out
    assert "$$q$$" in out and "\\\\(r\\\\)" in out


def test_block_math_inside_blockquote():
    out = render("> Quote\n> $$\n> a + b\n> $$\n> end\n")
    assert "<blockquote>" in out and out.count("katex-display") == 1
    assert ">a + b</annotation>" in out
    assert "$$" not in out


def test_invalid_tex_does_not_crash():
    out = render("Bad: $$\\frac{1}{$$ and \\\\(\\undefinedcommand{x}\\\\) fine")
    assert "katex-error" in out or "#cc0000" in out
    assert "$$" not in out
    assert "fine" in out


def test_unclosed_delimiters_stay_text():
    out = render("Open $$ never closed\n\nand \\\\( neither")
    assert "katex" not in out
    assert "$$ never closed" in out


def test_formula_does_not_cross_paragraphs():
    out = render("$$ a\n\nb $$")
    assert "katex" not in out


def test_math_in_attribute_gets_escaped_source():
    out = render('<img src="a.png" alt="$$x^2$$">')
    (img,) = elements(out, "img")
    assert img["alt"] == "$$x^2$$"
    assert "katex" not in out


def test_forged_placeholder_is_inert():
    out = render("HSMATH0123456789abcdefN0X and $$x$$")
    assert "HSMATH0123456789abcdefN0X" in out
    assert out.count('class="katex-display"') == 1


def test_math_in_heading_link_and_emphasis():
    out = render("# Loss $$L$$\n\n**bold $$b$$** [link $$k$$](https://example.com)")
    assert out.count("katex-display") == 3
    (link,) = elements(out, "a")
    assert link["href"] == "https://example.com"


def test_render_math_batch_order():
    results = render_math([("x", False), ("y", True), ("\\frac{1}{", False), ("z^2", False)])
    assert len(results) == 4
    assert "katex-display" not in results[0] and ">x</annotation>" in results[0]
    assert "katex-display" in results[1]
    assert "katex-error" in results[2]
    assert "z^2</annotation>" in results[3]
    assert render_math([]) == []


def test_katex_trust_is_off():
    for tex in (
        r"\href{javascript:alert(1)}{x}",
        r"\url{javascript:alert(1)}",
        r"\includegraphics{https://evil.example/x.png}",
        r"\htmlClass{evil}{x}",
        r"\htmlId{evil}{x}",
        r"\htmlStyle{position:fixed;top:0}{x}",
        r"\htmlData{onclick=alert(1)}{x}",
    ):
        (fragment,) = render_math([(tex, False)])
        out = render(f"$${tex}$$")
        for document in (fragment, out):
            assert_inert(document)
            assert not elements(document, "a") and not elements(document, "img")
            assert "evil" not in "".join(
                f"{k}={v}" for _, a in parse(document).tags for k, v in a if k != "title"
            )


def test_katex_sizes_are_capped():
    out = render(r"$$\rule{10000em}{10000em}$$")
    assert "10000em" not in out.split("<annotation")[0]
    assert "10000em" not in out.split("</annotation>")[1]


def test_worker_restarts_after_crash():
    render_math([("a", False)])
    worker = math_module._worker
    assert worker is not None
    worker.proc.kill()
    worker.proc.wait()
    (again,) = render_math([("b", False)])
    assert "b</annotation>" in again


def test_thread_safe_rendering():
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            results[n] = render(f"value $${n}^{{{n}}}$$ end")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for n, out in results.items():
        assert f"{n}^{{{n}}}</annotation>" in out


def test_missing_katex_is_a_clear_error(monkeypatch, tmp_path):
    math_module.shutdown()
    monkeypatch.setenv("HUBSTEAD_NODE_MODULES", str(tmp_path))
    with pytest.raises(MathRendererUnavailable, match="katex"):
        render("$$x$$")
    # A card without math needs no Node at all.
    assert render("plain *text*") == "<p>plain <em>text</em></p>\n"
    monkeypatch.delenv("HUBSTEAD_NODE_MODULES")
    math_module.shutdown()


def test_missing_node_is_a_clear_error(monkeypatch, tmp_path):
    math_module.shutdown()
    monkeypatch.setenv("HUBSTEAD_NODE", str(tmp_path / "no-such-node"))
    with pytest.raises(MathRendererUnavailable):
        render_math([("x", False)])
    monkeypatch.delenv("HUBSTEAD_NODE")
    math_module.shutdown()


def test_renderer_version_tracks_katex_pin():
    package = json.loads((REPO_ROOT / "package.json").read_text())
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    pinned = package["dependencies"]["katex"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), "katex must be pinned to an exact version"
    assert lock["packages"]["node_modules/katex"]["version"] == pinned
    assert RENDERER_VERSION.endswith(f"+katex{pinned}")
    assert math_module.katex_version() == pinned


# --------------------------------------------------------------------------- Markdown features


def test_gfm_table():
    out = render("| Name | Score |\n|:-----|------:|\n| a | 1 |\n| b | 2 |\n")
    assert "<table>" in out and "<thead>" in out and "<tbody>" in out
    headers = elements(out, "th")
    assert [h.get("style") for h in headers] == ["text-align:left", "text-align:right"]
    assert len(elements(out, "td")) == 4


def test_strikethrough():
    assert "<s>gone</s>" in render("~~gone~~")


def test_task_list():
    out = render("- [x] done\n- [ ] todo\n")
    boxes = elements(out, "input")
    assert len(boxes) == 2
    assert all(b["type"] == "checkbox" and "disabled" in b for b in boxes)
    assert "checked" in boxes[0] and "checked" not in boxes[1]


def test_raw_input_is_forced_to_disabled_checkbox():
    (box,) = elements(render('<input type="text" name="password" value="x">'), "input")
    assert box == {"type": "checkbox", "disabled": "disabled"}


def test_autolinks():
    out = render("See https://huggingface.co/docs and www.example.com or <https://a.example/b>.")
    hrefs = [a["href"] for a in elements(out, "a")]
    assert hrefs == ["https://huggingface.co/docs", "http://www.example.com", "https://a.example/b"]
    assert all("nofollow" in (a.get("rel") or "") for a in elements(out, "a"))


def test_fenced_code_is_highlighted_with_classes():
    out = render('```python\ndef f(x):\n    return "hi"\n```\n')
    assert '<pre class="highlight"><code class="language-python">' in out
    assert '<span class="k">def</span>' in out
    assert "style=" not in out


def test_fenced_code_unknown_language_is_escaped():
    out = render("```nosuchlang\n<b>x</b>\n```\n")
    assert "&lt;b&gt;x&lt;/b&gt;" in out
    assert '<code class="language-nosuchlang">' in out


def test_allowed_raw_html_survives():
    out = render(
        '<div align="center"><img src="https://x.example/logo.png" width="200" class="dark:hidden"></div>\n\n'
        "<details><summary>More</summary>\n\nHidden *text*\n\n</details>\n\n<center>c</center> H<sub>2</sub>O x<sup>2</sup>"
    )
    (img,) = elements(out, "img")
    assert img == {"src": "https://x.example/logo.png", "width": "200", "class": "dark:hidden"}
    for tag in ("details", "summary", "center", "sub", "sup", "div"):
        assert elements(out, tag), tag
    assert "<em>text</em>" in out


def test_front_matter_does_not_choke():
    out = render("---\nlicense: mit\ntags:\n- a\n---\n\n# Model\n")
    assert "<h1>Model</h1>" in out


def test_empty_and_odd_input():
    assert render("") == ""
    assert "\ufffd" in render("nul\x00byte\r\nwindows\rmac")


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("markdown", "tag", "attr", "expected"),
    [
        ("![a](images/x.png)", "img", "src", RESOLVE + "images/x.png"),
        (
            "![a](./images/x.png#hf-dark-mode-only)",
            "img",
            "src",
            RESOLVE + "images/x.png#hf-dark-mode-only",
        ),
        ('<img src="assets/logo.png" width="100">', "img", "src", RESOLVE + "assets/logo.png"),
        ("![a](a/../b/./c.png)", "img", "src", RESOLVE + "b/c.png"),
        ("[lic](LICENSE)", "a", "href", BLOB + "LICENSE"),
        ("[cfg](./config.json?x=1#L3)", "a", "href", BLOB + "config.json?x=1#L3"),
        ('<a href="docs/usage.md">u</a>', "a", "href", BLOB + "docs/usage.md"),
        ("[abs](https://example.com/x.png)", "a", "href", "https://example.com/x.png"),
        ("![abs](https://example.com/x.png)", "img", "src", "https://example.com/x.png"),
        ("[site](/datasets/foo)", "a", "href", "/datasets/foo"),
        ("[anchor](#usage)", "a", "href", "#usage"),
        ("[mail](mailto:a@example.com)", "a", "href", "mailto:a@example.com"),
    ],
)
def test_relative_urls_are_rewritten(markdown, tag, attr, expected):
    (element,) = elements(render(markdown), tag)
    assert element[attr] == expected


@pytest.mark.parametrize("target", ["../other/x.png", "a/../../x.png", "%2e%2e/x.png", "./../x"])
def test_paths_escaping_the_repo_are_dropped(target):
    out = render(f"![i]({target}) [l]({target})")
    assert "src" not in elements(out, "img")[0]
    assert "href" not in elements(out, "a")[0]


# --------------------------------------------------------------------------- XSS corpus

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" ONERROR="alert(1)">',
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<body onload=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>',
    '<a href=" &#14;  javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="https://ok.example" onclick="alert(1)">ok</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="width: expression(alert(1))">x</p>',
    '<span style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</span>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<button formaction="javascript:alert(1)">x</button>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<details open ontoggle=alert(1)>x</details>",
    "<input onfocus=alert(1) autofocus>",
    "<marquee onstart=alert(1)>x</marquee>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](java%0ascript:alert(1))",
    "![x](javascript:alert(1))",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "autolink javascript:alert(1) and vbscript:msgbox(1)",
    "$$\\href{javascript:alert(1)}{click}$$",
    "\\\\(\\url{javascript:alert(1)}\\\\)",
    "$$\\htmlData{onclick=alert(1)}{x}$$",
    "$$\\includegraphics{javascript:alert(1)}$$",
    "$$<script>alert(1)</script>$$",
    "$$\\text{<img src=x onerror=alert(1)>}$$",
    '<a href="$$javascript:alert(1)$$">x</a>',
    '<img src="$$x$$" onerror="alert(1)">',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<img src=x onerror=alert(1)>",
    '<img """><script>alert(1)</script>">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<svg><p><style><img src=x onerror=alert(1)></style></p></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<template><script>alert(1)</script></template>",
    "<textarea><script>alert(1)</script></textarea>",
    "<!-- <script>alert(1)</script> -->",
    '<a href="x" <script>alert(1)</script>',
    "`<script>` is code and <b onmouseover=alert(1)>bold</b>",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=range(len(XSS_PAYLOADS)))
def test_xss_payload_is_inert(payload):
    for markdown in (payload, f"Intro *text*\n\n{payload}\n\nOutro", f"- item {payload}"):
        assert_inert(render(markdown))


@pytest.mark.parametrize(
    "bad",
    [
        "<script>x</script>",
        '<img src="x" onerror="y">',
        '<a href=" java&#x09;script:alert(1)">x</a>',
        '<a href="DATA:text/html,x">x</a>',
        '<span style="position: fixed">x</span>',
        "<iframe></iframe>",
        '<input type="text">',
    ],
)
def test_inertness_checker_catches_bad_html(bad):
    """The checker itself must fail on active content, or the corpus proves nothing."""
    with pytest.raises(AssertionError):
        assert_inert(bad)


def test_xss_corpus_is_big_enough():
    assert len(XSS_PAYLOADS) >= 20


def test_script_text_in_code_is_escaped_not_dropped():
    out = render("`<script>alert(1)</script>`")
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in out


# --------------------------------------------------------------------------- timing


def test_typical_card_timing(capsys):
    card = (REPO_ROOT / "README.md").read_text() if (REPO_ROOT / "README.md").exists() else ""
    card += "\n\n" + "\n\n".join(
        [
            "# Model card\n\nA **small** model. Loss: $$L = -\\sum_i y_i \\log p_i$$",
            "| metric | value |\n|---|---|\n| acc | 0.91 |\n| f1 | \\\\(0.88\\\\) |",
            "```python\nfrom transformers import pipeline\np = pipeline('text-classification')\n```",
            "$$\n\\mathrm{MSE} = \\left(\\frac{1}{n}\\right)\\sum_{i=1}^{n}(y_{i} - x_{i})^{2}\n$$",
            "![diagram](assets/arch.png) See [the license](LICENSE).",
        ]
        * 3
    )
    render(card)  # warm the worker
    start = time.perf_counter()
    runs = 20
    for _ in range(runs):
        render(card)
    per_card_ms = (time.perf_counter() - start) * 1000 / runs
    with capsys.disabled():
        print(f"\n[rendering] {len(card)} chars, 15 formulas: {per_card_ms:.1f} ms per card")
