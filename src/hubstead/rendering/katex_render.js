// Hubstead's KaTeX worker: renders TeX to HTML for model cards on the server.
//
// Usage: node katex_render.js <path to katex.min.js, or to the katex package directory>
//
// It is a long-lived child of one Python process (hubstead.rendering.math). Protocol, one JSON
// document per line on both sides:
//   on start   -> {"ready": true, "katex": "<version>"}
//   request    <- {"id": <int>, "items": [["<tex>", <display: bool>], ...]}
//   response   -> {"id": <int>, "html": ["<html>", ...]}          (same order as items)
//   bad line   -> {"id": <int or null>, "error": "<message>"}
// A whole card goes in one request, so a card costs one round trip however many formulas it has.
"use strict";

const path = require("path");
const readline = require("readline");

const katexDir = process.argv[2];
if (!katexDir) {
  process.stderr.write("usage: node katex_render.js <katex.min.js or katex package directory>\n");
  process.exit(2);
}
const katex = require(path.resolve(katexDir));

// Untrusted input: trust stays off (no \href, \url, \includegraphics, \htmlClass, \htmlData...),
// sizes the author writes (\rule, \kern, \raisebox) are capped so a formula cannot cover the
// page, and errors are rendered in place instead of thrown so one bad formula cannot break a card.
const BASE_OPTIONS = Object.freeze({
  throwOnError: false,
  trust: false,
  strict: "ignore",
  output: "htmlAndMathml",
  maxSize: 50,
  maxExpand: 1000,
});

function escapeHtml(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

// Renders one formula. `macros` is shared by the formulas of one card (so \gdef in one formula
// is seen by the next, as in a document) and never by two cards.
function renderOne(tex, display, macros) {
  try {
    return katex.renderToString(String(tex), { ...BASE_OPTIONS, displayMode: !!display, macros });
  } catch (err) {
    // throwOnError:false only covers ParseError; anything else still must not kill the worker.
    const message = err && err.message ? err.message : String(err);
    return `<span class="katex-error" title="${escapeHtml(message)}">${escapeHtml(tex)}</span>`;
  }
}

function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    return { id: null, error: `invalid JSON: ${err.message}` };
  }
  const id = request && Number.isInteger(request.id) ? request.id : null;
  if (!request || !Array.isArray(request.items)) {
    return { id, error: "request must have an items array" };
  }
  const macros = {};
  const html = request.items.map((item) =>
    Array.isArray(item) ? renderOne(item[0], item[1], macros) : renderOne("", false, macros),
  );
  return { id, html };
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
input.on("line", (line) => {
  if (line.trim() === "") return;
  process.stdout.write(JSON.stringify(handle(line)) + "\n");
});
input.on("close", () => process.exit(0));
process.stdout.write(JSON.stringify({ ready: true, katex: katex.version }) + "\n");
