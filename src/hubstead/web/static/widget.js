// The model page's inference widget (templates/repo/_widget.html, web/widgets.py).
//
// Plain JavaScript, no build step. The server draws the form and decides whether the model can
// run here (services/inference/availability.py); this script enables Compute when it can,
// sends the inputs to the hub's own inference API (same origin) and draws the answer for
// people: score bars, highlighted entities, streamed text, a chat log. A cold model answers
// 503 with `estimated_time`: the widget says so and asks again until the model answers.
"use strict";

(() => {
  const LOADING_DEADLINE_MS = 10 * 60 * 1000; // stop asking for a model that never loads
  const MAX_POLL_S = 10;
  const SLOW_START_MS = 1500; // a stream with no token yet: say that the model may be loading

  // -- small DOM helpers ---------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const clamp = (score) => Math.max(0, Math.min(1, Number(score) || 0));
  const barWidth = (score) => `${(clamp(score) * 100).toFixed(2)}%`;
  function percent(score) {
    const value = clamp(score) * 100;
    if (value > 0 && value < 0.1) return "< 0.1%";
    return `${value.toFixed(1)}%`;
  }

  class WidgetError extends Error {}

  // -- talking to the inference API ----------------------------------------------------------

  async function errorMessage(response) {
    let message = `The hub answered ${response.status} ${response.statusText}`.trim();
    try {
      const body = await response.json();
      const error = body && body.error;
      if (typeof error === "string" && error) message = error;
      else if (error && typeof error.message === "string") message = error.message;
    } catch {
      // not JSON: keep the status line
    }
    return message;
  }

  // POST until the model answers: a 503 with `estimated_time` means it is loading. The hub
  // warms the model in the background; ask again after the estimate, less often as it drags on.
  async function post(ui, url, init) {
    const started = Date.now();
    let firstEstimate = null;
    for (let attempt = 0; ; attempt += 1) {
      const response = await fetch(url, { method: "POST", credentials: "same-origin", ...init });
      if (response.status !== 503) return response;
      let estimate = null;
      try {
        const body = await response.clone().json();
        if (body && typeof body.estimated_time === "number") estimate = body.estimated_time;
      } catch {
        // an answer without a body: an ordinary error
      }
      if (estimate === null || Date.now() - started > LOADING_DEADLINE_MS) return response;
      if (firstEstimate === null) firstEstimate = Math.max(1, Math.ceil(estimate));
      const waited = Math.round((Date.now() - started) / 1000);
      ui.setStatus(
        waited < firstEstimate + 1
          ? `Loading the model… (about ${firstEstimate} s)`
          : `Loading the model… (${waited} s so far; it was estimated at about ${firstEstimate} s)`,
        "loading",
      );
      await sleep(Math.min(Math.max(estimate, 1) * 1.5 ** attempt, MAX_POLL_S) * 1000);
    }
  }

  async function postJson(ui, url, body, headers) {
    const response = await post(ui, url, {
      headers: { "Content-Type": "application/json", ...(headers || {}) },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new WidgetError(await errorMessage(response));
    return response;
  }

  // Server-sent events, read from a fetch body: yields each `data:` payload, parsed.
  async function* events(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (!data) continue;
        if (data === "[DONE]") return;
        yield JSON.parse(data);
      }
    }
  }

  function streamError(event) {
    const error = event && event.error;
    if (!error) return null;
    return typeof error === "string" ? error : error.message || "The model failed";
  }

  // -- reading the form ----------------------------------------------------------------------

  function value(ui, name) {
    const field = ui.form.elements.namedItem(name);
    if (!field) return "";
    if (field.type === "checkbox") return field.checked;
    return field.value;
  }

  function required(ui, name, what) {
    const text = String(value(ui, name)).trim();
    if (!text) throw new WidgetError(`Write ${what} first.`);
    return text;
  }

  function parameters(ui) {
    const example = ui.config.examples[ui.exampleIndex] || {};
    return { ...(ui.config.parameters || {}), ...(example.parameters || {}) };
  }

  // The file to send: the one chosen, else the example's.
  async function media(ui, what) {
    const input = ui.form.elements.namedItem("file");
    if (input && input.files && input.files.length) return input.files[0];
    const example = ui.config.examples[ui.exampleIndex];
    if (example && example.src) {
      const response = await fetch(example.src);
      if (!response.ok) throw new WidgetError(`The example ${what} could not be fetched (${response.status}).`);
      return response.blob();
    }
    throw new WidgetError(`Choose ${what} file first.`);
  }

  // -- drawing answers -----------------------------------------------------------------------

  function scoreList(rows, format) {
    const list = el("ol", { class: "score-list" });
    for (const row of rows) {
      const bar = el("span", { class: "score-fill" });
      bar.style.width = barWidth(row.score);
      list.append(
        el(
          "li",
          { class: "score-row", "data-label": row.label, "data-score": row.score },
          el(
            "div",
            { class: "score-head" },
            el("span", { class: "score-label", text: row.label }),
            el("span", { class: "score-value", text: format ? format(row.score) : percent(row.score) }),
          ),
          el("div", { class: "score-bar", "aria-hidden": "true" }, bar),
          row.detail ? el("div", { class: "score-detail muted", text: row.detail }) : null,
        ),
      );
    }
    return list;
  }

  function labelScores(answer) {
    const rows = Array.isArray(answer) && Array.isArray(answer[0]) ? answer[0] : answer;
    if (!Array.isArray(rows)) throw new WidgetError("The answer is not a list of labels.");
    return rows
      .filter((row) => row && typeof row.score === "number")
      .map((row) => ({ label: String(row.label), score: row.score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 10);
  }

  function drawClassification(answer) {
    const rows = labelScores(answer);
    if (!rows.length) return el("p", { class: "muted", text: "The model gave no labels." });
    return scoreList(rows);
  }

  const entityColours = new Map();
  function entityClass(label) {
    const kind = label.replace(/^[BIES]-/, "");
    if (!entityColours.has(kind)) entityColours.set(kind, entityColours.size % 6);
    return `entity entity-${entityColours.get(kind)}`;
  }

  function drawEntities(answer, text) {
    if (!Array.isArray(answer)) throw new WidgetError("The answer is not a list of entities.");
    const entities = answer
      .filter((e) => e && Number.isInteger(e.start) && Number.isInteger(e.end) && e.end > e.start)
      .sort((a, b) => a.start - b.start);
    const paragraph = el("p", { class: "entity-text" });
    let cursor = 0;
    let shown = 0;
    for (const entity of entities) {
      if (entity.start < cursor) continue; // overlapping spans: the first one wins
      const label = String(entity.entity_group || entity.entity || "?");
      paragraph.append(text.slice(cursor, entity.start));
      paragraph.append(
        el(
          "mark",
          { class: entityClass(label), "data-entity": label, title: `${label} · ${percent(entity.score)}` },
          text.slice(entity.start, entity.end),
          el("span", { class: "entity-tag", text: label }),
        ),
      );
      cursor = entity.end;
      shown += 1;
    }
    paragraph.append(text.slice(cursor));
    const box = el("div", {}, paragraph);
    if (!shown) box.append(el("p", { class: "muted", text: "The model found no entities." }));
    else {
      const rows = entities.map((e) =>
        el(
          "tr",
          {},
          el("td", { text: text.slice(e.start, e.end) }),
          el("td", { text: String(e.entity_group || e.entity || "?") }),
          el("td", { text: percent(e.score) }),
        ),
      );
      box.append(
        el(
          "details",
          { class: "entity-details" },
          el("summary", { text: `${shown} ${shown === 1 ? "entity" : "entities"} with their scores` }),
          el(
            "table",
            { class: "entity-table" },
            el(
              "thead",
              {},
              el("tr", {}, el("th", { scope: "col", text: "Text" }), el("th", { scope: "col", text: "Type" }), el("th", { scope: "col", text: "Score" })),
            ),
            el("tbody", {}, ...rows),
          ),
        ),
      );
    }
    return box;
  }

  function drawFillMask(answer) {
    if (!Array.isArray(answer)) throw new WidgetError("The answer is not a list of tokens.");
    const rows = answer.map((row) => ({
      label: String(row.token_str).trim() || String(row.token_str),
      score: row.score,
      detail: row.sequence,
    }));
    return scoreList(rows);
  }

  function drawAnswer(answer, context) {
    const best = Array.isArray(answer) ? answer[0] : answer;
    if (!best || typeof best.answer !== "string") throw new WidgetError("The answer has no text.");
    const box = el(
      "div",
      { class: "qa-answer" },
      el("p", { class: "qa-text" }, el("span", { class: "muted", text: "Answer: " }), el("strong", { text: best.answer || "(no answer)" })),
      el("p", { class: "muted small", text: `Score ${percent(best.score)}` }),
    );
    if (Number.isInteger(best.start) && Number.isInteger(best.end) && best.end > best.start) {
      box.append(
        el(
          "p",
          { class: "qa-context" },
          context.slice(0, best.start),
          el("mark", { class: "entity entity-0" }, context.slice(best.start, best.end)),
          context.slice(best.end),
        ),
      );
    }
    return box;
  }

  function drawText(text, label) {
    return el("div", {}, el("p", { class: "muted small", text: label }), el("p", { class: "widget-text-result", text: text || "(empty)" }));
  }

  function drawVector(answer) {
    let vector = answer;
    let shape = [];
    while (Array.isArray(vector) && Array.isArray(vector[0])) {
      shape.push(vector.length);
      vector = vector[0];
    }
    if (!Array.isArray(vector)) throw new WidgetError("The answer is not a vector.");
    shape = [...shape, vector.length];
    const first = vector.slice(0, 8).map((x) => Number(x).toFixed(4));
    const size = shape.length > 1 ? `${shape.join(" × ")} numbers` : `${vector.length} numbers`;
    return el(
      "div",
      { class: "vector" },
      el("p", {}, el("span", { class: "muted", text: "Embedding: " }), el("strong", { class: "vector-size", text: size })),
      el("p", { class: "muted small", text: `The first ${first.length}:` }),
      el("code", { class: "vector-values", text: `[${first.join(", ")}${vector.length > first.length ? ", …" : ""}]` }),
    );
  }

  function drawSimilarity(answer, sentences) {
    if (!Array.isArray(answer)) throw new WidgetError("The answer is not a list of scores.");
    const rows = answer.map((score, i) => ({ label: sentences[i] ?? `Sentence ${i + 1}`, score }));
    rows.sort((a, b) => b.score - a.score);
    return scoreList(rows, (score) => score.toFixed(3));
  }

  // -- the tasks -----------------------------------------------------------------------------

  // Each task reads the form, asks the API and draws into ui.output; returns nothing.
  const TASKS = {
    "text-classification": (ui) => simple(ui, drawClassification),
    "token-classification": async (ui) => {
      const text = required(ui, "text", "a text");
      const answer = await json(ui, { inputs: text, parameters: parameters(ui) });
      ui.show(drawEntities(answer, text));
    },
    "fill-mask": async (ui) => {
      const text = required(ui, "text", "a text");
      const mask = ui.config.maskToken;
      if (mask && !text.includes(mask)) throw new WidgetError(`Write ${mask} where the missing word goes.`);
      ui.show(drawFillMask(await json(ui, { inputs: text, parameters: parameters(ui) })));
    },
    "question-answering": async (ui) => {
      const question = required(ui, "text", "a question");
      const context = required(ui, "context", "a context");
      ui.show(drawAnswer(await json(ui, { inputs: { question, context }, parameters: parameters(ui) }), context));
    },
    "zero-shot-classification": async (ui) => {
      const text = required(ui, "text", "a text");
      const labels = String(value(ui, "candidate_labels"))
        .split(",")
        .map((label) => label.trim())
        .filter(Boolean);
      if (!labels.length) throw new WidgetError("Write at least one possible label.");
      const body = {
        inputs: text,
        parameters: { ...parameters(ui), candidate_labels: labels, multi_label: Boolean(value(ui, "multi_class")) },
      };
      ui.show(drawClassification(await json(ui, body)));
    },
    summarization: async (ui) => {
      const answer = await json(ui, { inputs: required(ui, "text", "a text"), parameters: parameters(ui) });
      ui.show(drawText(answer && answer[0] ? answer[0].summary_text : "", "Summary"));
    },
    translation: async (ui) => {
      const answer = await json(ui, { inputs: required(ui, "text", "a text"), parameters: parameters(ui) });
      ui.show(drawText(answer && answer[0] ? answer[0].translation_text : "", "Translation"));
    },
    "feature-extraction": (ui) => simple(ui, drawVector),
    "sentence-similarity": async (ui) => {
      const source = required(ui, "source_sentence", "a source sentence");
      const sentences = String(value(ui, "sentences"))
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
      if (!sentences.length) throw new WidgetError("Write at least one sentence to compare.");
      const answer = await json(ui, { inputs: { source_sentence: source, sentences } });
      ui.show(drawSimilarity(answer, sentences));
    },
    "image-classification": async (ui) => {
      const file = await media(ui, "an image");
      const response = await post(ui, ui.config.url, {
        headers: { "Content-Type": file.type || "application/octet-stream" },
        body: file,
      });
      if (!response.ok) throw new WidgetError(await errorMessage(response));
      const picture = el("img", { class: "widget-picture", alt: "The image sent to the model" });
      picture.src = URL.createObjectURL(file);
      ui.show(el("div", {}, picture, drawClassification(await response.json())));
    },
    "automatic-speech-recognition": async (ui) => {
      const file = await media(ui, "an audio");
      const response = await post(ui, ui.config.url, {
        headers: { "Content-Type": file.type || "audio/wav" },
        body: file,
      });
      if (!response.ok) throw new WidgetError(await errorMessage(response));
      const answer = await response.json();
      ui.show(drawText(answer ? answer.text : "", "Transcription"));
    },
    "text-generation": (ui) => generate(ui),
    conversational: (ui) => chat(ui),
  };

  async function json(ui, body) {
    const response = await postJson(ui, ui.config.url, body);
    return response.json();
  }

  async function simple(ui, draw) {
    const answer = await json(ui, { inputs: required(ui, "text", "a text"), parameters: parameters(ui) });
    ui.show(draw(answer));
  }

  // Says the model may be loading when a stream has not started after a moment.
  function slowStart(ui) {
    const timer = setTimeout(() => ui.setStatus("Waiting for the model… (a cold model loads first)", "loading"), SLOW_START_MS);
    return () => clearTimeout(timer);
  }

  async function generate(ui) {
    const prompt = required(ui, "text", "a prompt");
    const completion = el("span", { class: "completion" });
    const result = el("p", { class: "generated" }, el("span", { class: "prompt", text: prompt }), completion);
    const stop = slowStart(ui);
    let response;
    try {
      // Streams wait for a cold model on the server: the TGI stream has no 503 to retry.
      response = await postJson(ui, ui.config.url, { inputs: prompt, parameters: parameters(ui), stream: true }, { "X-Wait-For-Model": "true" });
    } finally {
      stop();
    }
    ui.show(result, true);
    ui.setStatus("Generating…", "busy");
    let text = "";
    for await (const event of events(response)) {
      const error = streamError(event);
      if (error) throw new WidgetError(error);
      if (event.token && !event.token.special && event.token.text) {
        text += event.token.text;
        completion.textContent = text;
      }
      if (typeof event.generated_text === "string") {
        text = event.generated_text;
        completion.textContent = text;
      }
    }
    result.dataset.done = "true";
    if (!text) ui.output.append(el("p", { class: "muted", text: "The model generated no text." }));
  }

  function chatMessage(role, text) {
    const content = el("p", { class: "chat-text", text });
    const item = el("li", { class: `chat-message chat-${role}` }, el("span", { class: "chat-role", text: role === "user" ? "You" : role === "assistant" ? "Assistant" : "System" }), content);
    return { item, content };
  }

  function chatRequest(ui, messages) {
    const params = parameters(ui);
    const body = { messages, stream: true };
    const maxTokens = params.max_tokens ?? params.max_new_tokens;
    if (maxTokens !== undefined) body.max_tokens = maxTokens;
    for (const name of ["temperature", "top_p", "seed", "stop"]) if (params[name] !== undefined) body[name] = params[name];
    return body;
  }

  async function chat(ui) {
    const text = required(ui, "text", "a message");
    const history = ui.history;
    const messages = [...history, { role: "user", content: text }];
    ui.output.append(chatMessage("user", text).item);
    ui.form.elements.namedItem("text").value = "";
    const reply = chatMessage("assistant", "");
    reply.item.setAttribute("aria-busy", "true");
    const stop = slowStart(ui);
    let response;
    try {
      response = await postJson(ui, ui.config.chatUrl, chatRequest(ui, messages));
    } catch (error) {
      ui.output.lastElementChild.remove();
      ui.form.elements.namedItem("text").value = text;
      throw error;
    } finally {
      stop();
    }
    ui.output.append(reply.item);
    ui.setStatus("Generating…", "busy");
    let answer = "";
    try {
      for await (const event of events(response)) {
        const error = streamError(event);
        if (error) throw new WidgetError(error);
        const choice = event.choices && event.choices[0];
        const piece = choice && choice.delta && choice.delta.content;
        if (piece) {
          answer += piece;
          reply.content.textContent = answer;
        }
      }
    } finally {
      reply.item.removeAttribute("aria-busy");
    }
    if (!answer) {
      reply.content.classList.add("muted");
      reply.content.textContent = "(The model answered with an empty message.)";
    }
    history.push({ role: "user", content: text }, { role: "assistant", content: answer });
    reply.item.dataset.done = "true";
    ui.clear.hidden = false;
  }

  // -- the widget ----------------------------------------------------------------------------

  function fill(ui, index) {
    const example = ui.config.examples[index];
    if (!example) return;
    ui.exampleIndex = index;
    for (const [name, content] of Object.entries(example.values || {})) {
      const field = ui.form.elements.namedItem(name);
      if (!field) continue;
      if (field.type === "checkbox") field.checked = Boolean(content);
      else field.value = content;
    }
    const sample = document.getElementById("widget-sample");
    const sampleMedia = document.getElementById("widget-sample-media");
    if (sample && sampleMedia) {
      sample.hidden = !example.src;
      if (example.src) sampleMedia.src = example.src;
      else sampleMedia.removeAttribute("src");
    }
    if (ui.config.widget === "conversational") {
      ui.history = (example.messages || []).map((m) => ({ role: m.role, content: m.content }));
      ui.output.replaceChildren(...ui.history.map((m) => chatMessage(m.role, m.content).item));
      ui.clear.hidden = !ui.history.length;
    }
  }

  function start() {
    const configNode = document.getElementById("widget-config");
    const form = document.getElementById("widget-form");
    if (!configNode || !form) return;
    const config = JSON.parse(configNode.textContent);
    const run = TASKS[config.widget];
    const button = document.getElementById("widget-compute");
    const status = document.getElementById("widget-status");
    const output = document.getElementById("widget-output");
    const ui = {
      config,
      form,
      output,
      clear: document.getElementById("widget-clear") || { hidden: true, addEventListener() {} },
      exampleIndex: 0,
      history: [],
      setStatus(text, kind) {
        status.textContent = text;
        status.className = `widget-status${kind ? ` is-${kind}` : ""}`;
      },
      show(node, streaming) {
        if (config.widget !== "conversational") output.replaceChildren(node);
        output.setAttribute("aria-busy", streaming ? "true" : "false");
      },
    };
    if (config.widget === "conversational") {
      ui.history = ((config.examples[0] || {}).messages || []).map((m) => ({ role: m.role, content: m.content }));
    }
    const picker = document.getElementById("widget-example");
    if (picker) {
      picker.closest(".widget-picker").hidden = false;
      picker.addEventListener("change", () => fill(ui, Number(picker.value)));
    }
    ui.clear.addEventListener("click", () => {
      ui.history = [];
      output.replaceChildren();
      ui.clear.hidden = true;
      ui.setStatus("");
    });
    if (!config.runnable || !run) return; // the page says why (#widget-reason)
    button.disabled = false;
    let busy = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      ui.setStatus("Computing…", "busy");
      const started = performance.now();
      try {
        await run(ui);
        ui.setStatus(`Computed in ${((performance.now() - started) / 1000).toFixed(1)} s.`, "done");
      } catch (error) {
        const message = error instanceof WidgetError ? error.message : `Something went wrong: ${error.message || error}`;
        ui.setStatus(message, "error");
      } finally {
        output.setAttribute("aria-busy", "false");
        form.removeAttribute("aria-busy");
        busy = false;
        button.disabled = false;
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
