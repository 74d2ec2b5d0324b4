// The upload page: files and folders chosen or dropped, then sent the way huggingface_hub
// sends them (web/views/upload.py has the routes):
//   1. preupload: the server says which files go to LFS (size and first 512 bytes);
//   2. LFS files are hashed in slices (hash-wasm, never read whole), the LFS batch answer gives
//      signed URLs, and the bytes are PUT straight to them (one request per part past the
//      multipart threshold), with a progress bar per file; each object is then verified;
//   3. the commit: NDJSON with the small files inline (base64) and the LFS files by hash.
// Every POST carries the page's CSRF token in X-CSRF-Token; the session cookie signs it in.
(() => {
  "use strict";

  const HASH_SLICE = 8 * 1024 * 1024;
  const SAMPLE_BYTES = 512;
  const SKIPPED_FOLDERS = [".git", ".cache/huggingface"];

  const form = document.getElementById("upload-form");
  if (!form) return;
  form.hidden = false;

  const $ = (id) => document.getElementById(id);
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const ui = {
    drop: $("upload-drop"),
    files: $("upload-files"),
    folderInput: $("upload-folder-input"),
    list: $("upload-list"),
    count: $("upload-count"),
    folder: $("upload-folder"),
    summary: $("upload-summary"),
    description: $("upload-description"),
    branchRow: $("upload-branch-row"),
    branch: $("upload-branch"),
    submit: $("upload-submit"),
    error: $("upload-error"),
    status: $("upload-status"),
    result: $("upload-result"),
  };
  const chosen = new Map(); // relative path -> {file, row, bar, statusCell}
  let busy = false;
  let finished = false;

  // ------------------------------------------------------------------ formatting

  function humanSize(size) {
    let value = size;
    for (const unit of ["Bytes", "kB", "MB", "GB", "TB"]) {
      if (value < 1000 || unit === "TB") {
        return unit === "Bytes" ? `${value} Bytes` : `${value.toFixed(1)} ${unit}`;
      }
      value /= 1000;
    }
    return `${size} Bytes`;
  }

  function cleanFolder(text) {
    return text.split("/").map((part) => part.trim()).filter(Boolean).join("/");
  }

  function repoPath(relative) {
    const folder = cleanFolder(ui.folder.value);
    return folder ? `${folder}/${relative}` : relative;
  }

  function skipped(relative) {
    return SKIPPED_FOLDERS.some((folder) => relative === folder || relative.startsWith(`${folder}/`) || relative.includes(`/${folder}/`));
  }

  // ------------------------------------------------------------------ the list of files

  function setProgress(item, fraction) {
    const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    item.bar.setAttribute("aria-valuenow", String(percent));
    item.bar.setAttribute("aria-valuetext", `${percent}%`);
    item.fill.style.width = `${percent}%`;
  }

  function setState(item, text, state) {
    item.statusCell.textContent = text;
    item.row.dataset.state = state;
  }

  function addFile(file, relative) {
    relative = relative.replace(/^\/+/, "");
    if (!relative || skipped(relative) || finished) return;
    const previous = chosen.get(relative);
    if (previous) previous.row.remove();
    const row = document.createElement("tr");
    row.dataset.path = relative;
    const name = document.createElement("td");
    name.className = "upload-name";
    const size = document.createElement("td");
    size.className = "upload-size";
    size.textContent = humanSize(file.size);
    const progressCell = document.createElement("td");
    const bar = document.createElement("div");
    bar.className = "upload-progress";
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-label", `Upload of ${relative}`);
    const fill = document.createElement("span");
    fill.className = "upload-progress-fill";
    bar.append(fill);
    progressCell.append(bar);
    const statusCell = document.createElement("td");
    statusCell.className = "upload-state";
    const removeCell = document.createElement("td");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button upload-remove";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${relative}`);
    remove.addEventListener("click", () => {
      if (busy) return;
      chosen.delete(relative);
      row.remove();
      refresh();
    });
    removeCell.append(remove);
    row.append(name, size, progressCell, statusCell, removeCell);
    ui.list.append(row);
    const item = { file, relative, row, name, bar, fill, statusCell, remove };
    chosen.set(relative, item);
    setProgress(item, 0);
    setState(item, "Waiting", "waiting");
  }

  function refresh() {
    const items = [...chosen.values()];
    for (const item of items) item.name.textContent = repoPath(item.relative);
    const total = items.reduce((sum, item) => sum + item.file.size, 0);
    ui.count.textContent = items.length
      ? `${items.length} ${items.length === 1 ? "file" : "files"}, ${humanSize(total)}`
      : "No files chosen yet.";
    ui.summary.placeholder = items.length === 1 ? `Upload ${repoPath(items[0].relative)}` : `Upload ${items.length || ""} files`.replace("  ", " ");
    ui.submit.disabled = busy || finished || items.length === 0;
  }

  // ------------------------------------------------------------------ choosing and dropping

  ui.files.addEventListener("change", () => {
    for (const file of ui.files.files) addFile(file, file.name);
    ui.files.value = "";
    refresh();
  });

  ui.folderInput.addEventListener("change", () => {
    for (const file of ui.folderInput.files) addFile(file, file.webkitRelativePath || file.name);
    ui.folderInput.value = "";
    refresh();
  });

  function entryFile(entry) {
    return new Promise((resolve, reject) => entry.file(resolve, reject));
  }

  function readBatch(reader) {
    return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
  }

  // A dropped folder: every file under it, with its path from the dropped folder's parent.
  async function walk(entry) {
    if (entry.isFile) {
      addFile(await entryFile(entry), entry.fullPath);
      return;
    }
    if (!entry.isDirectory) return;
    const reader = entry.createReader();
    for (;;) {
      const batch = await readBatch(reader); // at most 100 entries at a time in Chromium
      if (!batch.length) break;
      for (const child of batch) await walk(child);
    }
  }

  ui.drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = busy || finished ? "none" : "copy";
    ui.drop.classList.add("is-over");
  });
  ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("is-over"));
  ui.drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    ui.drop.classList.remove("is-over");
    if (busy || finished || !event.dataTransfer) return;
    // Entries and files must be taken now: the DataTransfer is emptied once the handler yields.
    const entries = [];
    const files = [];
    for (const item of event.dataTransfer.items || []) {
      if (item.kind !== "file") continue;
      const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (entry) entries.push(entry);
      else {
        const file = item.getAsFile();
        if (file) files.push(file);
      }
    }
    if (!entries.length && !files.length) files.push(...(event.dataTransfer.files || []));
    for (const file of files) addFile(file, file.webkitRelativePath || file.name);
    try {
      for (const entry of entries) await walk(entry);
    } catch (error) {
      showError(`Could not read the dropped folder: ${error.message || error}`);
    }
    refresh();
  });
  // a file dropped beside the zone must not make the browser leave the page to open it
  for (const type of ["dragover", "drop"]) {
    document.addEventListener(type, (event) => {
      if (!ui.drop.contains(event.target)) event.preventDefault();
    });
  }

  ui.folder.addEventListener("input", refresh);
  for (const radio of form.querySelectorAll("input[name=mode]")) {
    radio.addEventListener("change", modeChanged);
  }

  function mode() {
    const checked = form.querySelector("input[name=mode]:checked");
    return checked ? checked.value : "pr";
  }

  function modeChanged() {
    const current = mode();
    if (ui.branchRow) {
      ui.branchRow.hidden = current !== "branch";
      ui.branch.required = current === "branch";
    }
    if (form.dataset.canWrite === "true") {
      ui.submit.textContent = current === "pr" ? "Open a pull request" : current === "branch" ? "Commit to the new branch" : "Commit changes";
    }
  }

  // ------------------------------------------------------------------ requests

  function showError(message) {
    ui.error.textContent = message;
    ui.error.hidden = false;
  }

  function status(message) {
    ui.status.textContent = message;
  }

  async function errorOf(response) {
    let message = `${response.status} ${response.statusText}`.trim();
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") message = body.error;
    } catch {
      const header = response.headers.get("X-Error-Message");
      if (header) message = header;
    }
    return message;
  }

  async function post(url, body, contentType = "application/json") {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": contentType, "X-CSRF-Token": csrf, Accept: "application/json" },
      body: contentType === "application/json" ? JSON.stringify(body) : body,
    });
    if (!response.ok) throw new Error(await errorOf(response));
    return response.json();
  }

  function xhrError(xhr) {
    try {
      const body = JSON.parse(xhr.responseText);
      if (body && typeof body.error === "string") return body.error;
    } catch {
      // not JSON
    }
    return xhr.getResponseHeader("X-Error-Message") || `${xhr.status} ${xhr.statusText}`;
  }

  // One PUT with upload progress (fetch cannot report it): resolves with the request.
  function put(url, blob, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.upload.onprogress = (event) => onProgress(event.loaded);
      xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve(xhr) : reject(new Error(xhrError(xhr))));
      xhr.onerror = () => reject(new Error("The connection to the hub was lost"));
      xhr.send(blob);
    });
  }

  function readAs(blob, method) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error || new Error("The file could not be read"));
      reader[method](blob);
    });
  }

  // base64 of a (small) blob: a data URL, less its prefix
  async function base64(blob) {
    const url = await readAs(blob, "readAsDataURL");
    return url.slice(url.indexOf(",") + 1);
  }

  async function sha256(item) {
    if (!window.hashwasm) throw new Error("The hashing script did not load: reload the page and try again");
    const hasher = await window.hashwasm.createSHA256();
    hasher.init();
    const size = item.file.size;
    for (let offset = 0; offset < size; offset += HASH_SLICE) {
      const slice = item.file.slice(offset, Math.min(size, offset + HASH_SLICE));
      hasher.update(new Uint8Array(await slice.arrayBuffer()));
      setState(item, `Hashing ${Math.round((Math.min(size, offset + HASH_SLICE) / size) * 100)}%`, "hashing");
    }
    return hasher.digest("hex");
  }

  // ------------------------------------------------------------------ LFS transfers

  async function transfer(item, actions) {
    const size = item.file.size;
    const upload = actions.upload;
    const header = upload.header || {};
    const progress = (sent) => setProgress(item, size ? sent / size : 1);
    setState(item, "Uploading", "uploading");
    if (header.chunk_size) {
      const chunk = Number(header.chunk_size);
      const parts = [];
      for (let number = 1; header[String(number)]; number += 1) {
        const start = (number - 1) * chunk;
        const xhr = await put(header[String(number)], item.file.slice(start, Math.min(size, start + chunk)), (loaded) => progress(start + loaded));
        parts.push({ partNumber: number, etag: (xhr.getResponseHeader("ETag") || "").replace(/"/g, "") });
      }
      await post(upload.href, { oid: item.oid, parts });
    } else {
      await put(upload.href, item.file, progress);
    }
    progress(size);
    if (actions.verify) await post(actions.verify.href, { oid: item.oid, size });
  }

  async function uploadLfs(items) {
    if (!items.length) return;
    for (const item of items) item.oid = await sha256(item);
    const objects = [...new Map(items.map((item) => [item.oid, { oid: item.oid, size: item.file.size }])).values()];
    status(`Asking where to send ${objects.length} large ${objects.length === 1 ? "file" : "files"}…`);
    const batch = await post(form.dataset.lfs, { objects });
    const answers = new Map(batch.objects.map((answer) => [answer.oid, answer]));
    const sent = new Set();
    for (const item of items) {
      const answer = answers.get(item.oid);
      if (!answer || answer.error) throw new Error(`${item.relative}: ${answer && answer.error ? answer.error.message : "no answer for this file"}`);
      if (answer.actions && !sent.has(item.oid)) {
        status(`Uploading ${item.relative}…`);
        try {
          await transfer(item, answer.actions);
        } catch (error) {
          setState(item, "Failed", "failed");
          throw new Error(`${item.relative}: ${error.message}`);
        }
        sent.add(item.oid);
        setState(item, "Uploaded", "uploaded");
      } else {
        setProgress(item, 1);
        setState(item, "Already stored", "uploaded");
      }
    }
  }

  // ------------------------------------------------------------------ the commit

  async function commitBody(regular, lfs, parent) {
    const header = {
      summary: ui.summary.value.trim() || ui.summary.placeholder,
      description: ui.description.value,
      parentCommit: parent,
    };
    const parts = [JSON.stringify({ key: "header", value: header }), "\n"];
    for (const item of regular) {
      const content = await base64(item.file);
      parts.push(JSON.stringify({ key: "file", value: { path: item.path, content, encoding: "base64" } }), "\n");
    }
    for (const item of lfs) {
      parts.push(JSON.stringify({ key: "lfsFile", value: { path: item.path, algo: "sha256", oid: item.oid, size: item.file.size } }), "\n");
    }
    return new Blob(parts, { type: "application/x-ndjson" });
  }

  function commitUrl() {
    const query = new URLSearchParams({ mode: mode(), folder: cleanFolder(ui.folder.value) });
    if (mode() === "branch") query.set("branch", ui.branch.value.trim());
    return `${form.dataset.commit}?${query}`;
  }

  function showResult(answer) {
    const link = document.createElement("a");
    link.href = answer.url;
    link.id = "upload-result-link";
    if (answer.pullRequestUrl) {
      link.textContent = `Pull request #${answer.pullRequestNum}`;
      ui.result.append("Opened ", link, ".");
    } else {
      link.textContent = `the files on ${answer.branch}`;
      const commit = document.createElement("a");
      commit.href = answer.commitUrl;
      commit.textContent = answer.commitOid.slice(0, 7);
      ui.result.append("Committed ", commit, ": see ", link, ".");
    }
    ui.result.hidden = false;
    link.focus();
  }

  async function run() {
    const items = [...chosen.values()];
    for (const item of items) item.path = repoPath(item.relative);
    const parentAnswer = await post(form.dataset.preupload, {
      files: await Promise.all(items.map(async (item) => ({ path: item.path, size: item.file.size, sample: await base64(item.file.slice(0, SAMPLE_BYTES)) }))),
    });
    const modes = new Map(parentAnswer.files.map((answer) => [answer.path, answer]));
    const kept = [];
    for (const item of items) {
      const answer = modes.get(item.path);
      if (answer && answer.shouldIgnore) setState(item, "Ignored (.gitignore)", "ignored");
      else kept.push(item);
      item.lfs = Boolean(answer && answer.uploadMode === "lfs");
    }
    if (!kept.length) throw new Error("Every file chosen is ignored by the repository's .gitignore");
    const regular = kept.filter((item) => !item.lfs);
    const lfs = kept.filter((item) => item.lfs);
    const inline = regular.reduce((sum, item) => sum + 4 * Math.ceil(item.file.size / 3) + item.path.length + 100, 0);
    if (inline > Number(form.dataset.commitLimit)) {
      throw new Error(`The small files sent inside the commit add up to more than ${humanSize(Number(form.dataset.commitLimit))}: upload them in several commits`);
    }
    for (const item of regular) setState(item, "In the commit", "waiting");
    await uploadLfs(lfs);
    status("Committing…");
    const answer = await post(commitUrl(), await commitBody(regular, lfs, parentAnswer.commitOid), "application/x-ndjson");
    for (const item of kept) {
      setProgress(item, 1);
      setState(item, "Done", "done");
    }
    status(answer.pullRequestUrl ? "The pull request is open." : "The files are committed.");
    return answer;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy || finished || !chosen.size) return;
    if (!form.reportValidity()) return;
    ui.error.hidden = true;
    busy = true;
    refresh();
    for (const item of chosen.values()) item.remove.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const answer = await run();
      finished = true;
      showResult(answer);
    } catch (error) {
      status("");
      showError(error.message || String(error));
      for (const item of chosen.values()) {
        item.remove.disabled = false;
        if (item.row.dataset.state !== "failed" && item.row.dataset.state !== "ignored") {
          setProgress(item, 0);
          setState(item, "Not committed", "waiting");
        }
      }
    } finally {
      busy = false;
      form.removeAttribute("aria-busy");
      refresh();
    }
  });

  modeChanged();
  refresh();
})();
