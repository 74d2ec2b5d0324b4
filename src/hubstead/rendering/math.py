"""Math in model cards: finding `$$…$$` / `\\\\(…\\\\)` spans and rendering them with KaTeX.

The Hub renders math with KaTeX on the server, before the Markdown is parsed, so we do the same.
KaTeX is a JavaScript library; rather than re-implement it we keep one long-lived Node.js worker
per Python process (katex_render.js next to this file) and send it every formula of a card in a
single JSON line. Starting Node costs ~50 ms, a round trip well under 1 ms, hence the reuse.

KaTeX (its dist files: katex.min.js, katex.min.css, fonts/) is found, in this order, in the
node_modules folder HUBSTEAD_NODE_MODULES names, in the package itself (a wheel carries a copy,
see setup.py), or in the source checkout's node_modules; the web page's stylesheet and fonts come
from the same folder (`katex_dist`). Where to look is read from MathSettings each time a worker
starts.

Missing Node or a missing `katex` package is an error (MathRendererUnavailable), not a silent
fallback: a hub that quietly shows raw TeX would look broken in a way nobody notices.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast


@dataclass(frozen=True)
class MathSettings:
    """Where math rendering finds its tools. `node`: the Node.js binary (None: `node` on the PATH).
    `node_modules`: a node_modules folder holding the katex package; None looks in the installed
    package first (a wheel carries KaTeX), then in the source checkout's node_modules."""

    node: str | None = None
    node_modules: Path | None = None


# Where the settings come from when a worker starts. The renderer reads no environment itself
# (it imports nothing of the project outside domain): hubstead.settings, the one place that
# reads the environment, installs its reader here with `use_settings` when it is imported.
_settings_source: Callable[[], MathSettings] = MathSettings


def use_settings(source: Callable[[], MathSettings]) -> None:
    """Read the math settings from `source` each time a worker starts."""
    global _settings_source
    _settings_source = source


__all__ = [
    "MathRendererUnavailable",
    "MathSettings",
    "MathSpan",
    "find_math_spans",
    "is_escaped",
    "katex_dist",
    "render_math",
    "use_settings",
]

_SCRIPT = Path(__file__).with_name("katex_render.js")
# A wheel carries KaTeX's dist files here (setup.py copies them from node_modules/katex/dist).
_PACKAGED_KATEX = Path(__file__).with_name("katex")
# src/hubstead/rendering/math.py -> the repository root holds package.json and node_modules.
_REPO_ROOT = Path(__file__).resolve().parents[3]
_TIMEOUT_S = 30.0
_STARTUP_TIMEOUT_S = 15.0


class MathRendererUnavailable(RuntimeError):
    """Node.js or the katex npm package cannot be used, so math cannot be rendered."""


class _WorkerGone(MathRendererUnavailable):
    """The worker was already dead when we wrote to it: safe to retry with a fresh one.

    A failure while *reading* is not retried, because the batch itself may be what killed or
    hung Node, and trying it again would only double the wait.
    """


# --------------------------------------------------------------------------- finding formulas


@dataclass(frozen=True)
class MathSpan:
    """One formula found in the card source: [start, end) covers the delimiters too."""

    start: int
    end: int
    tex: str
    display: bool


_DELIMITERS = (("$$", "$$", True), ("\\\\(", "\\\\)", False))


def is_escaped(text: str, pos: int) -> bool:
    """True when text[pos] is preceded by an odd number of backslashes (a Markdown/TeX escape)."""
    count = 0
    while pos - count - 1 >= 0 and text[pos - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _opener_at(text: str, pos: int) -> tuple[str, str, bool] | None:
    """The delimiter pair that opens at pos, if any.

    `\\$$` is an escaped dollar followed by a dollar, not an opener; `\\\\(` must be exactly two
    backslashes (a third one before them makes it an escaped backslash plus `\\(`).
    """
    for opener, closer, display in _DELIMITERS:
        if text.startswith(opener, pos) and not is_escaped(text, pos):
            return opener, closer, display
    return None


def _find_closer(finder: _Finder, start: int, closer: str, code: list[bool]) -> int:
    """Index of the closing delimiter, or -1.

    A formula may span lines (the block form of `$$`) but never a blank line (a paragraph break;
    TeX itself rejects \\par in math) and never a code region.
    """
    text, pos = finder.text, start
    while True:
        hit = finder.find(closer, pos)
        if hit < 0:
            return -1
        if closer == "$$" and is_escaped(text, hit):
            pos = hit + 1  # `\$$` inside TeX is an escaped dollar, not the end
            continue
        break
    if text.find("\n\n", start, hit) >= 0 or any(code[start:hit]):
        return -1
    return hit


def find_math_spans(text: str, code: list[bool]) -> list[MathSpan]:
    """Formulas in `text`, skipping characters flagged in `code` (fenced/indented code, code spans).

    A single `$` is never a delimiter, so "$5 and $10" stays text. Empty or blank formulas are
    left alone so that "$$$$" or a lone "$$ $$" does not turn into an empty math box.
    """
    spans: list[MathSpan] = []
    finder = _Finder(text)
    pos = 0
    while (nxt := finder.next_candidate(pos)) >= 0:
        found = None if code[nxt] else _opener_at(text, nxt)
        if found is None:
            pos = nxt + 1
            continue
        opener, closer, display = found
        body = nxt + len(opener)
        end = _find_closer(finder, body, closer, code)
        if end < 0 or not text[body:end].strip():
            pos = nxt + len(opener)
            continue
        tex = _strip_quote_markers(text[body:end], _on_quote_line(text, nxt))
        spans.append(MathSpan(nxt, end + len(closer), tex.strip(), display))
        pos = end + len(closer)
    return spans


class _Finder:
    """str.find that remembers its last answer per needle, for searches that only move forward.

    Rescanning to the end of the card for a delimiter that never comes (an unclosed `\\\\(`,
    no `\\\\(` at all) from every candidate position would make the scan quadratic.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.last: dict[str, tuple[int, int]] = {}

    def find(self, needle: str, pos: int) -> int:
        start, hit = self.last.get(needle, (len(self.text) + 1, -1))
        if start <= pos and (hit == -1 or hit >= pos):
            return hit
        hit = self.text.find(needle, pos)
        self.last[needle] = (pos, hit)
        return hit

    def next_candidate(self, pos: int) -> int:
        """Index of the next `$$` or `\\\\(` at or after pos, or -1."""
        hits = [i for i in (self.find("$$", pos), self.find("\\\\(", pos)) if i >= 0]
        return min(hits) if hits else -1


_QUOTE_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)+")


def _on_quote_line(text: str, pos: int) -> bool:
    """True when the formula starts on a blockquote line (only `>`/blanks before it)."""
    line_start = text.rfind("\n", 0, pos) + 1
    before = text[line_start:pos]
    return ">" in before and _QUOTE_PREFIX.fullmatch(before) is not None


def _strip_quote_markers(tex: str, quoted: bool) -> str:
    """Drop the `> ` markers of continuation lines of a formula inside a blockquote.

    Math is cut out before Markdown sees the quote, so without this KaTeX would typeset them.
    """
    if not quoted or "\n" not in tex:
        return tex
    first, *rest = tex.split("\n")
    return "\n".join([first] + [_QUOTE_PREFIX.sub("", line, count=1) for line in rest])


# --------------------------------------------------------------------------- the Node worker


def _node_executable(settings: MathSettings) -> str:
    """Path to node: HUBSTEAD_NODE if set, else the first `node` on PATH."""
    candidate = settings.node or shutil.which("node")
    if not candidate:
        raise MathRendererUnavailable(
            "Node.js is required to render math in model cards but `node` was not found on PATH "
            "(set HUBSTEAD_NODE, or run ensure_node_assets from scripts/lib/node.sh)"
        )
    return candidate


def _katex_candidates(settings: MathSettings) -> list[Path]:
    """KaTeX dist folders, in the order they are tried: the configured node_modules only, when
    set; else the copy in this package, then the source checkout's node_modules."""
    if settings.node_modules is not None:
        return [settings.node_modules / "katex" / "dist"]
    return [_PACKAGED_KATEX, _REPO_ROOT / "node_modules" / "katex" / "dist"]


def katex_dist(settings: MathSettings | None = None) -> Path:
    """KaTeX's dist folder (katex.min.js, katex.min.css, fonts/): the first candidate that has
    it, else the first candidate (so that a missing file reads as missing)."""
    candidates = _katex_candidates(settings or _settings_source())
    return next((dist for dist in candidates if (dist / "katex.min.js").is_file()), candidates[0])


def _katex_script(settings: MathSettings) -> Path:
    """katex.min.js for the worker, or MathRendererUnavailable naming where it was looked for."""
    script = katex_dist(settings) / "katex.min.js"
    if not script.is_file():
        looked = ", ".join(str(dist) for dist in _katex_candidates(settings))
        raise MathRendererUnavailable(
            f"the katex npm package is missing (looked for katex.min.js in {looked}); run `npm ci` in "
            f"{_REPO_ROOT} or set HUBSTEAD_NODE_MODULES to a node_modules directory that contains katex"
        )
    return script


class _Worker:
    """One Node process speaking JSON lines; not thread-safe by itself (the pool holds a lock)."""

    def __init__(self) -> None:
        settings = _settings_source()
        node, katex = _node_executable(settings), _katex_script(settings)
        try:
            self.proc = subprocess.Popen(
                [node, str(_SCRIPT), str(katex)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        except OSError as exc:
            raise MathRendererUnavailable(f"cannot start {node}: {exc}") from exc
        self.pid = os.getpid()
        self.next_id = 0
        hello = self._read_line(_STARTUP_TIMEOUT_S)
        if not hello.get("ready"):
            self.close()
            raise MathRendererUnavailable(f"the KaTeX worker did not start: {hello!r}")
        self.katex_version: str = hello.get("katex", "")

    def alive(self) -> bool:
        """Usable by this process: running, and not a copy inherited through fork()."""
        return self.proc.poll() is None and self.pid == os.getpid()

    def _read_line(self, timeout: float) -> dict[str, Any]:
        """Read one JSON line; a watchdog kills Node if it hangs, which ends the read with EOF."""
        watchdog = threading.Timer(timeout, self.proc.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            line = cast(IO[str], self.proc.stdout).readline()  # stdout=PIPE: never None
        finally:
            watchdog.cancel()
        if not line:
            self.close()
            raise MathRendererUnavailable("the KaTeX worker exited or timed out")
        try:
            return cast("dict[str, Any]", json.loads(line))
        except json.JSONDecodeError as exc:
            self.close()  # out of step with the protocol: start over with a fresh worker
            raise MathRendererUnavailable(
                f"garbled output from the KaTeX worker: {line!r}"
            ) from exc

    def render(self, items: list[tuple[str, bool]]) -> list[str]:
        """Send one batch and wait for its answer."""
        self.next_id += 1
        request = json.dumps({"id": self.next_id, "items": [[t, bool(d)] for t, d in items]})
        try:
            cast(IO[str], self.proc.stdin).write(request + "\n")  # stdin=PIPE: never None
            cast(IO[str], self.proc.stdin).flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            self.close()
            raise _WorkerGone(f"the KaTeX worker is gone: {exc}") from exc
        reply = self._read_line(_TIMEOUT_S)
        if reply.get("id") != self.next_id or "html" not in reply:
            self.close()
            raise MathRendererUnavailable(f"unexpected reply from the KaTeX worker: {reply!r}")
        html: list[str] = reply["html"]
        if len(html) != len(items):
            raise MathRendererUnavailable("the KaTeX worker returned the wrong number of results")
        return html

    def close(self) -> None:
        """Stop the process (closing stdin lets it exit on its own; kill covers a hung one)."""
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                cast(IO[str], stream).close()  # both are pipes (never None)
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


_lock = threading.Lock()
_worker: _Worker | None = None


def _reset_after_fork() -> None:
    """A forked child must not share the parent's pipes: it starts its own worker when needed."""
    global _worker, _lock
    _worker = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def _render_locked(items: list[tuple[str, bool]]) -> list[str]:
    """Render with the shared worker, restarting it once if it died since the last card."""
    global _worker
    for attempt in range(2):
        if _worker is None or not _worker.alive():
            _worker = _Worker()
        try:
            return _worker.render(items)
        except _WorkerGone:
            _worker = None
            if attempt == 1:
                raise
        except MathRendererUnavailable:
            _worker = None
            raise
    raise AssertionError("unreachable")


def render_math(sources: list[tuple[str, bool]]) -> list[str]:
    """KaTeX HTML for each (tex, display) pair, in order, in one round trip to the worker.

    Invalid TeX does not raise: KaTeX renders it as a red `katex-error` span holding the source.
    Raises MathRendererUnavailable when Node or katex is missing or the worker keeps failing.
    """
    if not sources:
        return []
    with _lock:
        return _render_locked(list(sources))


def katex_version() -> str:
    """Version of the katex package the worker loaded (starts the worker if needed)."""
    global _worker
    with _lock:
        if _worker is None or not _worker.alive():
            _worker = _Worker()
        return _worker.katex_version


def shutdown() -> None:
    """Stop the worker (tests, clean server shutdown); the next render starts a new one."""
    global _worker
    with _lock:
        if _worker is not None:
            _worker.close()
            _worker = None
