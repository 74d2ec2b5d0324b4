// The card editor (repo/edit_card.html): line numbers, a live preview rendered by the server,
// the linter's findings next to their lines with "Apply fix", and the completeness checklist.
// Without this script the page is still a form that previews (its Preview button) and commits.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("card-editor");
  if (!form) return;
  const textarea = document.getElementById("card-text");
  const gutter = document.getElementById("editor-gutter");
  const preview = document.getElementById("card-preview");
  const previewState = document.getElementById("preview-state");
  const findingsList = document.getElementById("findings");
  const summary = document.getElementById("findings-summary");
  const checklist = document.getElementById("checklist");
  const checklistCount = document.getElementById("checklist-count");
  const csrf = form.querySelector('input[name="csrf_token"]').value;
  const initial = JSON.parse(document.getElementById("editor-state").textContent);
  let findings = initial.findings;
  let sequence = 0;
  let timer = null;
  let shownLines = -1;

  document.getElementById("preview-button").hidden = true; // the preview is live

  // ------------------------------------------------------------------ lines and the gutter

  function lineStarts(text) {
    const starts = [0];
    for (let index = text.indexOf("\n"); index !== -1; index = text.indexOf("\n", index + 1)) {
      starts.push(index + 1);
    }
    return starts;
  }

  function goToLine(line) {
    const text = textarea.value;
    const starts = lineStarts(text);
    const start = starts[Math.min(line, starts.length) - 1];
    const next = line < starts.length ? starts[line] - 1 : text.length;
    textarea.focus();
    textarea.setSelectionRange(start, next);
    const height = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
    textarea.scrollTop = Math.max(0, (line - 3) * height);
    syncGutter();
  }

  function renderGutter() {
    const count = lineStarts(textarea.value).length;
    if (count !== shownLines) {
      const fragment = document.createDocumentFragment();
      for (let line = 1; line <= count; line += 1) {
        const number = document.createElement("div");
        number.className = "gutter-line";
        number.dataset.line = String(line);
        number.textContent = String(line);
        fragment.appendChild(number);
      }
      gutter.replaceChildren(fragment);
      shownLines = count;
    }
    const worst = new Map();
    for (const finding of findings) {
      if (worst.get(finding.line) !== "error") worst.set(finding.line, finding.severity);
    }
    for (const number of gutter.children) {
      const severity = worst.get(Number(number.dataset.line));
      number.classList.toggle("mark-error", severity === "error");
      number.classList.toggle("mark-warning", severity === "warning");
      const messages = findings.filter((f) => f.line === Number(number.dataset.line));
      number.title = messages.map((f) => `${f.severity}: ${f.path} ${f.message}`).join("\n");
    }
    syncGutter();
  }

  function syncGutter() {
    gutter.scrollTop = textarea.scrollTop;
  }

  gutter.hidden = false;
  textarea.addEventListener("scroll", syncGutter);
  gutter.addEventListener("click", (event) => {
    const number = event.target.closest(".gutter-line");
    if (number && number.classList.length > 1) goToLine(Number(number.dataset.line));
  });

  // ------------------------------------------------------------------ findings and fixes

  function applyFix(finding) {
    const text = textarea.value;
    const start = lineStarts(text)[finding.line - 1] + finding.column;
    const end = start - finding.column + finding.end_column;
    if (text.slice(start, end) !== finding.original) {
      schedule(0); // the text moved since the finding: check again
      return;
    }
    textarea.focus();
    textarea.setSelectionRange(start, end);
    // insertText keeps the browser's undo history; setRangeText is the fallback
    if (!document.execCommand("insertText", false, finding.fix)) {
      textarea.setRangeText(finding.fix, start, end, "end");
    }
    schedule(0);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderFindings() {
    const items = findings.map((finding) => {
      const item = element("li", `finding finding-${finding.severity}`);
      item.dataset.line = String(finding.line);
      item.dataset.severity = finding.severity;
      const where = element("button", "link-button finding-where", `Line ${finding.line}`);
      where.type = "button";
      where.setAttribute("aria-label", `Go to line ${finding.line}`);
      where.addEventListener("click", () => goToLine(finding.line));
      const severity = element(
        "span", "finding-severity", finding.severity === "error" ? "Error" : "Warning");
      const text = element("span", "finding-text");
      text.append(element("code", "", finding.path), ` ${finding.message}`);
      item.append(where, severity, text);
      if (finding.fix !== null) {
        const fix = element("span", "finding-fix");
        fix.append("did you mean ", element("code", "", finding.fix.replace(/^["']|["']$/g, "")), "?");
        text.append(" — ", fix);
        const apply = element("button", "button secondary apply-fix", "Apply fix");
        apply.type = "button";
        apply.setAttribute("aria-label", `Apply fix on line ${finding.line}: ${finding.fix}`);
        apply.addEventListener("click", () => applyFix(finding));
        item.append(apply);
      }
      return item;
    });
    findingsList.replaceChildren(...items);
    const errors = findings.filter((f) => f.severity === "error").length;
    const warnings = findings.length - errors;
    summary.textContent = findings.length
      ? `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}` +
        (errors ? ": a commit is refused until the errors are fixed." : ".")
      : "No problems found in the metadata.";
    renderGutter();
  }

  function hint(text) {
    // `code` in a hint, as the server's template shows it
    const node = element("span", "check-hint");
    text.split("`").forEach((part, index) => {
      node.append(index % 2 ? element("code", "", part) : part);
    });
    return node;
  }

  function renderChecklist(items) {
    if (!checklist) return;
    checklist.replaceChildren(...items.map((entry) => {
      const item = element("li", "check-item");
      item.dataset.key = entry.key;
      item.dataset.done = entry.done ? "true" : "false";
      const label = element("span", "check-label", entry.label);
      label.append(element("span", "visually-hidden", entry.done ? ": done" : ": to do"));
      const mark = element("span", "check-mark", entry.done ? "✓" : "○");
      mark.setAttribute("aria-hidden", "true");
      item.append(mark, label);
      if (entry.line) {
        const go = element("button", "link-button check-line", `line ${entry.line}`);
        go.type = "button";
        go.setAttribute("aria-label", `Go to “${entry.label}”, line ${entry.line}`);
        go.addEventListener("click", () => goToLine(entry.line));
        label.append(" ", go);
      }
      if (!entry.done) item.append(hint(entry.hint));
      return item;
    }));
    const done = items.filter((entry) => entry.done).length;
    checklistCount.textContent = `${done} of ${items.length}`;
  }

  // ------------------------------------------------------------------ the live preview

  async function refresh() {
    const mine = ++sequence;
    previewState.textContent = "Updating…";
    let data;
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ content: textarea.value }),
      });
      data = await response.json();
      if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    } catch (error) {
      if (mine === sequence) previewState.textContent = `Preview failed: ${error.message}`;
      return;
    }
    if (mine !== sequence) return; // a newer request is on its way
    if (data.html === null) {
      preview.replaceChildren(element("p", "form-error", "The preview could not be rendered."));
    } else if (data.html) {
      preview.innerHTML = data.html; // rendered and sanitized by the server, as on the card page
    } else {
      preview.replaceChildren(element("p", "muted", "Nothing to preview yet."));
    }
    findings = data.findings;
    renderFindings();
    renderChecklist(data.checklist);
    previewState.textContent = "Up to date";
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  }

  textarea.addEventListener("input", () => {
    renderGutter();
    schedule(350);
  });

  // the submit button says what it will do
  const submit = form.querySelector('button[value="commit"]');
  for (const radio of form.querySelectorAll('input[name="target"][type="radio"]')) {
    radio.addEventListener("change", () => {
      submit.textContent = radio.value === "pr" ? "Open pull request" : "Commit changes";
    });
  }
  const chosen = form.querySelector('input[name="target"]:checked');
  if (chosen && chosen.value === "pr") submit.textContent = "Open pull request";

  renderFindings();
  renderChecklist(initial.checklist);
});
