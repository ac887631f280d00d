/// The console's script: plain browser JavaScript, no framework. It calls the same native API
/// a program would (`/v1/clips`, `/v1/speech`, `/v1/blobs/…`) plus the console's routes, so
/// nothing the page shows is out of a script's reach.
enum ConsoleScript {
    static let js = #"""
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "tts-console-token";
  const WAVE_POINTS = 200;
  const TIER_COLORS = { memory: "var(--memory)", local: "var(--local)", redis: "var(--redis)", engine: "var(--engine)" };
  const state = {
    items: [], offset: 0, limit: 25, total: null, cur: -1, selected: new Set(),
    playing: null, objectURL: null, listSeq: 0, history: [], last: null,
  };
  const waves = new Map();

  // ---- HTTP: every call carries the token when one is set; a 401 asks for one and retries.

  class APIFailure extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  let tokenPrompt = null;
  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  function askToken(message) {
    if (tokenPrompt) return tokenPrompt;
    tokenPrompt = new Promise((resolve) => {
      const dialog = $("token-dialog");
      $("token-error").textContent = message || "";
      $("token-input").value = "";
      dialog.onclose = () => {
        const value = $("token-input").value.trim();
        if (value) sessionStorage.setItem(TOKEN_KEY, value);
        $("signout").hidden = !token();
        tokenPrompt = null;
        resolve();
      };
      if (!dialog.open) dialog.showModal();
    });
    return tokenPrompt;
  }
  async function api(path, options = {}) {
    for (let attempt = 0; attempt < 4; attempt++) {
      const headers = Object.assign({}, options.headers || {});
      const t = token();
      if (t) headers["Authorization"] = "Bearer " + t;
      const response = await fetch(path, Object.assign({}, options, { headers }));
      if (response.status === 401) {
        const had = !!t;
        sessionStorage.removeItem(TOKEN_KEY);
        await askToken(had ? "That token was refused; try another." : "");
        continue;
      }
      if (!response.ok) {
        let message = response.status + " " + response.statusText;
        try { const body = await response.json(); if (body && body.error && body.error.message) message = body.error.message; } catch (_) {}
        throw new APIFailure(response.status, message);
      }
      return response;
    }
    throw new APIFailure(401, "no token was accepted");
  }
  const getJSON = async (path) => (await api(path)).json();
  const sendJSON = async (method, path, body) => (await api(path, {
    method, headers: { "Content-Type": "application/json", "Accept": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  })).json();

  // ---- Formatting

  function seconds(ms) { return (ms / 1000).toFixed(2) + " s"; }
  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n, u = 0;
    while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return u === 0 ? n + " B" : v.toFixed(1) + " " + units[u];
  }
  function ago(iso) {
    const t = Date.parse(iso);
    if (!isFinite(t)) return "";
    const s = Math.max(0, (Date.now() - t) / 1000);
    if (s < 60) return "just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  let toastTimer = null;
  function toast(message) {
    const t = $("toast");
    t.textContent = message;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
  }
  function confirmAction(title, text, ok) {
    return new Promise((resolve) => {
      const dialog = $("confirm-dialog");
      $("confirm-title").textContent = title;
      $("confirm-text").textContent = text;
      $("confirm-ok").textContent = ok;
      dialog.returnValue = "";
      dialog.onclose = () => resolve(dialog.returnValue === "ok");
      dialog.showModal();
      $("confirm-cancel").focus();
    });
  }

  // ---- Browse

  function filters() {
    return {
      match: $("q").value.trim(), voice: $("f-voice").value.trim(), lang: $("f-lang").value.trim(),
      engine: $("f-engine").value, model: $("f-model").value.trim(),
    };
  }
  function saveHash() {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filters())) if (v) p.set(k, v);
    if (state.offset) p.set("offset", state.offset);
    if (state.limit !== 25) p.set("limit", state.limit);
    const hash = p.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname);
  }
  function loadHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    $("q").value = p.get("match") || "";
    $("f-voice").value = p.get("voice") || "";
    $("f-lang").value = p.get("lang") || "";
    $("f-model").value = p.get("model") || "";
    if (p.get("engine")) $("f-engine").append(el("option", { value: p.get("engine"), text: p.get("engine") }));
    $("f-engine").value = p.get("engine") || "";
    state.offset = Math.max(0, parseInt(p.get("offset") || "0", 10) || 0);
    const limit = parseInt(p.get("limit") || "25", 10);
    if ([10, 25, 50, 100].includes(limit)) { state.limit = limit; $("f-limit").value = String(limit); }
    if (p.get("voice") || p.get("lang") || p.get("engine") || p.get("model")) $("filters").open = true;
  }

  async function loadList(keepCursor) {
    const seq = ++state.listSeq;
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(filters())) if (v) p.set(k, v);
    p.set("limit", state.limit);
    p.set("offset", state.offset);
    saveHash();
    $("list-status").textContent = "Loading…";
    let body;
    try {
      body = await getJSON("/v1/clips?" + p.toString());
    } catch (e) {
      if (seq === state.listSeq) $("list-status").textContent = "Could not list clips: " + e.message;
      return;
    }
    if (seq !== state.listSeq) return;  // a newer search answered first
    const items = (Array.isArray(body) ? body : (body.clips || body.items || [])).map((c) => Object.assign({}, c));
    state.total = Array.isArray(body) ? null : (typeof body.total === "number" ? body.total : null);
    if (items.some((c) => typeof c.pinned !== "boolean") && items.length) {
      try {
        const pins = await getJSON("/v1/pins?keys=" + items.map((c) => c.key).join(","));
        const set = new Set(pins.pinned || []);
        for (const c of items) if (typeof c.pinned !== "boolean") c.pinned = set.has(c.key);
      } catch (e) {
        for (const c of items) if (typeof c.pinned !== "boolean") c.pinned = false;
      }
    }
    if (seq !== state.listSeq) return;
    const curKey = keepCursor && state.items[state.cur] ? state.items[state.cur].key : null;
    state.items = items;
    state.cur = curKey ? Math.max(0, items.findIndex((c) => c.key === curKey)) : (items.length ? 0 : -1);
    render();
  }

  function render() {
    const list = $("list");
    list.replaceChildren(...state.items.map(clipRow));
    const n = state.items.length;
    const f = filters();
    const filtered = Object.values(f).some((v) => v);
    $("list-status").textContent = n ? "" : (filtered ? "No clip matches." : "No clips yet: say something above.");
    const from = n ? state.offset + 1 : 0, to = state.offset + n;
    $("range").textContent = n ? `${from}–${to}` + (state.total !== null ? ` of ${state.total}` : "") : "";
    $("prev").disabled = state.offset === 0;
    $("next").disabled = state.total !== null ? to >= state.total : n < state.limit;
    updateSelection();
    highlight();
    for (const c of state.items) loadWave(c);
  }

  function clipRow(c, i) {
    const row = el("li", { class: "clip", "data-key": c.key, id: "clip-" + c.key });
    const box = el("input", { type: "checkbox", class: "sel", "aria-label": "Select", onchange: () => {
      if (box.checked) state.selected.add(c.key); else state.selected.delete(c.key);
      updateSelection();
    } });
    box.checked = state.selected.has(c.key);
    const play = el("button", { type: "button", class: "play", "aria-label": "Play", title: "Play (space)", text: "▶",
      onclick: () => { state.cur = i; highlight(); togglePlay(c); } });
    const meta = el("div", { class: "meta" },
      el("span", { class: "voice", text: c.voice || "default voice" }),
      el("span", { class: "lang", text: c.language || "auto" }),
      el("span", { class: "engine", text: c.engine + (c.model ? " · " + c.model : "") }),
      el("span", { class: "dur", text: seconds(c.duration_ms || 0) }),
      el("span", { class: "hits", text: (c.hits || 0) + (c.hits === 1 ? " hit" : " hits") }),
      el("span", { class: "used", title: c.last_used || "", text: "used " + ago(c.last_used) }),
      c.style ? el("span", { class: "style", text: "style: " + c.style }) : null,
      c.pinned ? el("span", { class: "pinned", text: "pinned" }) : null);
    const canvas = el("canvas", { height: 30, "aria-hidden": "true", onclick: (ev) => seekTo(c, ev) });
    const body = el("div", { class: "body" }, el("div", { class: "text", text: c.text }), meta, canvas);
    const pin = el("button", { type: "button", class: "pin" + (c.pinned ? " on" : ""), "aria-pressed": c.pinned ? "true" : "false",
      title: c.pinned ? "Unpin: let eviction remove it again (p)" : "Pin: protect from eviction (p)",
      text: c.pinned ? "Unpin" : "Pin", onclick: () => togglePin(c) });
    const regen = el("button", { type: "button", class: "regen", title: "Remove and make again with the engine", text: "Regenerate",
      onclick: () => regenerate(c) });
    const remove = el("button", { type: "button", class: "remove", title: "Remove from the cache", text: "Remove",
      onclick: () => removeClip(c) });
    row.append(box, play, body, el("div", { class: "acts" }, pin, regen, remove));
    row.addEventListener("click", (ev) => {
      if (ev.target.closest("button, input, canvas")) return;
      state.cur = i; highlight();
    });
    return row;
  }

  function highlight() {
    const rows = $("list").children;
    for (let i = 0; i < rows.length; i++) rows[i].classList.toggle("cur", i === state.cur);
    for (const row of rows) row.classList.toggle("playing", row.dataset.key === state.playing && !$("player").paused);
  }
  function updateSelection() {
    const n = state.selected.size;
    $("selection").textContent = n ? `${n} selected` : "";
    $("export").disabled = n === 0;
    const boxes = [...$("list").querySelectorAll("input.sel")];
    $("select-all").checked = boxes.length > 0 && boxes.every((b) => b.checked);
  }

  // ---- Listen

  async function loadWave(c) {
    const cacheKey = c.blob + "/" + WAVE_POINTS;
    if (!waves.has(cacheKey)) {
      waves.set(cacheKey, getJSON(`/v1/clips/${c.key}/waveform?points=${WAVE_POINTS}`).then((w) => w.peaks).catch(() => []));
    }
    const peaks = await waves.get(cacheKey);
    drawWave(c, peaks);
  }
  function canvasOf(c) {
    const row = document.getElementById("clip-" + c.key);
    return row ? row.querySelector("canvas") : null;
  }
  function drawWave(c, peaks) {
    const canvas = canvasOf(c);
    if (!canvas || !peaks) return;
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * ratio)), h = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    if (!peaks.length) return;
    const style = getComputedStyle(document.documentElement);
    const player = $("player");
    const progress = state.playing === c.key && player.duration ? player.currentTime / player.duration : 0;
    const bar = w / peaks.length;
    for (let i = 0; i < peaks.length; i++) {
      const x = i * bar, half = Math.max(ratio / 2, peaks[i] * (h / 2 - ratio));
      ctx.fillStyle = (i + 0.5) / peaks.length <= progress ? style.getPropertyValue("--played") : style.getPropertyValue("--wave");
      ctx.fillRect(x, h / 2 - half, Math.max(ratio, bar - ratio * 0.5), half * 2);
    }
    c.peaks = peaks;
  }

  async function sourceFor(c) {
    const path = `/v1/blobs/${c.blob}.wav`;
    if (!token()) return path;  // the server answers Range itself: seeking streams
    // An audio element cannot send a header: with a token, fetch the clip and play it from memory.
    const blob = await (await api(path)).blob();
    if (state.objectURL) URL.revokeObjectURL(state.objectURL);
    state.objectURL = URL.createObjectURL(blob);
    return state.objectURL;
  }
  async function togglePlay(c) {
    const player = $("player");
    if (state.playing === c.key && player.src) {
      if (player.paused) player.play().catch(playFailed); else player.pause();
      return;
    }
    try {
      player.src = await sourceFor(c);
    } catch (e) {
      toast("Cannot play: " + e.message);
      return;
    }
    const previous = state.items.find((x) => x.key === state.playing);
    state.playing = c.key;
    if (previous && previous.peaks) drawWave(previous, previous.peaks);
    $("now-playing").textContent = c.text;
    player.play().catch(playFailed);
  }
  function playFailed(e) {
    if (e && e.name === "AbortError") return;  // a newer play() replaced this one
    toast("Cannot play: " + (e && e.message ? e.message : e));
  }
  async function seekTo(c, ev) {
    const fraction = Math.min(1, Math.max(0, ev.offsetX / ev.currentTarget.clientWidth));
    const player = $("player");
    if (state.playing !== c.key) await togglePlay(c);
    const apply = () => { if (player.duration) player.currentTime = fraction * player.duration; };
    if (player.readyState >= 1) apply(); else player.addEventListener("loadedmetadata", apply, { once: true });
  }
  function onProgress() {
    const c = state.items.find((x) => x.key === state.playing);
    if (c && c.peaks) drawWave(c, c.peaks);
    highlight();
  }

  // ---- Curate

  async function togglePin(c) {
    try {
      const answer = await sendJSON(c.pinned ? "DELETE" : "POST", `/v1/clips/${c.key}/pin`);
      c.pinned = !!answer.pinned;
      replaceRow(c);
      toast((c.pinned ? "Pinned: " : "Unpinned: ") + c.text);
    } catch (e) { toast("Pin failed: " + e.message); }
  }
  function replaceRow(c) {
    const i = state.items.findIndex((x) => x.key === c.key);
    const old = document.getElementById("clip-" + c.key);
    if (i < 0 || !old) return;
    const row = clipRow(state.items[i] = c, i);
    old.replaceWith(row);
    highlight();
    if (c.peaks) drawWave(c, c.peaks); else loadWave(c);
  }
  async function removeClip(c) {
    const ok = await confirmAction("Remove this clip?", `“${c.text}” (${c.voice || "default voice"}) is removed from this machine and from Redis. Asking for it again makes it again with the engine.`, "Remove");
    if (!ok) return;
    try {
      await sendJSON("DELETE", `/v1/clips/${c.key}`);
      state.selected.delete(c.key);
      if (state.playing === c.key) { $("player").pause(); state.playing = null; $("now-playing").textContent = "Nothing playing"; }
      toast("Removed: " + c.text);
      await loadList(true);
    } catch (e) { toast("Remove failed: " + e.message); }
  }
  async function regenerate(c) {
    const ok = await confirmAction("Make this clip again?", `“${c.text}” is removed and asked for again with the same voice, language and style: the engine makes it anew (a call that may cost money).`, "Regenerate");
    if (!ok) return;
    const row = document.getElementById("clip-" + c.key);
    if (row) row.querySelector(".regen").disabled = true;
    try {
      const made = await sendJSON("POST", `/v1/clips/${c.key}/regenerate`);
      const fresh = Object.assign({}, made);
      delete fresh.tier;
      if (state.playing === c.key) { $("player").pause(); $("player").removeAttribute("src"); state.playing = null; }
      replaceRow(fresh);
      toast(`Made again (${made.tier}): ${made.text}`);
    } catch (e) {
      toast("Regenerate failed: " + e.message);
      if (row) row.querySelector(".regen").disabled = false;
    }
  }
  async function exportSelected() {
    const keys = [...state.selected];
    if (!keys.length) return;
    $("export").disabled = true;
    try {
      const response = await api("/v1/export", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ keys }) });
      const url = URL.createObjectURL(await response.blob());
      const disposition = response.headers.get("Content-Disposition") || "";
      const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "tts-clips.zip";
      const a = el("a", { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      toast(`Exported ${keys.length} clip${keys.length === 1 ? "" : "s"} as ${name}`);
    } catch (e) { toast("Export failed: " + e.message); }
    updateSelection();
  }

  // ---- Say

  async function loadVoices(engine) {
    let list;
    try {
      list = await getJSON("/v1/voices" + (engine ? "?engine=" + encodeURIComponent(engine) : ""));
    } catch (e) {
      $("say-result").textContent = "Voices unavailable: " + e.message;
      return;
    }
    const engines = list.engines || [list.engine];
    const sayEngine = $("say-engine");
    if (!sayEngine.options.length) {
      for (const name of engines) sayEngine.append(el("option", { value: name, text: name }));
      const fe = $("f-engine"), chosen = fe.value;
      for (const name of engines) if (![...fe.options].some((o) => o.value === name)) fe.append(el("option", { value: name, text: name }));
      fe.value = chosen;
    }
    sayEngine.value = list.engine;
    const voice = $("say-voice");
    const defaults = list.defaults || {};
    voice.replaceChildren(el("option", { value: "", text: "default" + (defaults.engine === list.engine && defaults.voice ? " (" + defaults.voice + ")" : "") }),
      ...(list.voices || []).map((v) => el("option", { value: v.voice, text: v.voice + (v.description ? " — " + v.description : "") })));
    const langs = new Set();
    for (const v of list.voices || []) for (const l of v.languages || []) langs.add(l);
    $("lang-list").replaceChildren(...[...langs].sort().map((l) => el("option", { value: l })));
    if (!$("say-lang").value && defaults.language && defaults.engine === list.engine) $("say-lang").placeholder = defaults.language;
  }

  /// The Say panel's request, or null when there is no text.
  function sayRequest() {
    const text = $("say-text").value.trim();
    if (!text) return null;
    const request = { text, engine: $("say-engine").value };
    for (const [field, id] of [["voice", "say-voice"], ["language", "say-lang"], ["style", "say-style"]]) {
      const v = $(id).value.trim();
      if (v) request[field] = v;
    }
    return request;
  }

  async function say(ev) {
    ev.preventDefault();
    const request = sayRequest();
    if (!request) return;
    $("say-go").disabled = true;
    $("say-result").replaceChildren("Speaking…");
    try {
      const response = await api("/v1/speech", {
        method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" }, body: JSON.stringify(request),
      });
      // JSON was asked for; a server that sends the audio anyway still names the tier.
      const json = (response.headers.get("Content-Type") || "").includes("json");
      const answer = json ? await response.json() : {};
      const made = answer.clip ? Object.assign({}, answer.clip, { tier: answer.tier }) : answer;
      const tier = response.headers.get("X-TTS-Tier") || made.tier || "?";
      $("say-result").replaceChildren(el("span", { class: "tier " + tier, text: tier }), " " + (made.key ? made.key.slice(0, 8) : "") +
        (made.duration_ms ? " · " + seconds(made.duration_ms) : ""));
      await showNew(made);
    } catch (e) {
      $("say-result").replaceChildren(el("span", { class: "error", text: e.message }));
    } finally {
      $("say-go").disabled = false;
    }
  }
  /// Say and play as it streams: the native `"stream": true` answer as raw PCM (audio/L16, its
  /// rate in the type), each piece scheduled on Web Audio as it arrives, so a miss is heard from
  /// the engine's first chunk. `#say-result` carries `data-played` (seconds heard so far) and
  /// `data-first-ms` (time to first audio). The clip shows in the list once the stream ended.
  async function sayStreaming() {
    const request = sayRequest();
    if (!request) { $("say-text").reportValidity(); return; }
    request.stream = true;
    request.format = "pcm";
    const Context = window.AudioContext || window.webkitAudioContext;
    const ctx = state.streamContext || (state.streamContext = new Context());
    ctx.resume().catch(() => {});  // inside the click: allowed to start
    const result = $("say-result");
    result.dataset.played = "0";
    delete result.dataset.firstMs;
    result.replaceChildren("Speaking…");
    $("say-go").disabled = $("say-stream").disabled = true;
    const asked = performance.now();
    let startAt = 0, next = 0, heard = 0, ticker = 0, tier = "?";
    const played = () => Math.max(0, Math.min(heard, ctx.currentTime - startAt));
    const show = (text) => {
      result.dataset.played = played().toFixed(3);
      result.replaceChildren(el("span", { class: "tier " + tier, text: tier }), " " + text);
    };
    try {
      const response = await api("/v1/speech", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request),
      });
      const rate = Number((/rate=(\d+)/.exec(response.headers.get("Content-Type") || "") || [])[1]) || 24000;
      const key = response.headers.get("X-TTS-Key") || "";
      tier = response.headers.get("X-TTS-Tier") || "?";
      const reader = response.body.getReader();
      let carry = null;
      ticker = setInterval(() => show(`streaming · ${played().toFixed(1)} s of ${heard.toFixed(1)} s played`), 100);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let bytes = value;
        if (carry) {  // a piece may end inside a sample
          bytes = new Uint8Array(carry.length + value.length);
          bytes.set(carry);
          bytes.set(value, carry.length);
          carry = null;
        }
        const whole = bytes.length - (bytes.length % 2);
        if (whole < bytes.length) carry = bytes.slice(whole);
        if (!whole) continue;
        const pcm = new DataView(bytes.buffer, bytes.byteOffset, whole);
        const buffer = ctx.createBuffer(1, whole / 2, rate);
        const channel = buffer.getChannelData(0);
        for (let i = 0; i < whole / 2; i++) channel[i] = pcm.getInt16(2 * i, true) / 32768;
        const source = ctx.createBufferSource();
        source.buffer = buffer;
        source.connect(ctx.destination);
        if (!startAt) {
          result.dataset.firstMs = Math.round(performance.now() - asked);
          startAt = next = ctx.currentTime + 0.05;
        }
        source.start(Math.max(next, ctx.currentTime));
        next = Math.max(next, ctx.currentTime) + buffer.duration;
        heard += buffer.duration;
      }
      const first = result.dataset.firstMs ? ` · first audio ${result.dataset.firstMs} ms` : "";
      show((key ? key.slice(0, 8) + " · " : "") + seconds(heard * 1000) + first);
      await showNew({ key });
    } catch (e) {
      result.replaceChildren(el("span", { class: "error", text: e.message }));
    } finally {
      clearInterval(ticker);
      $("say-go").disabled = $("say-stream").disabled = false;
      // Keep `data-played` moving until the scheduled audio has been heard.
      const until = setInterval(() => {
        result.dataset.played = played().toFixed(3);
        if (played() >= heard) clearInterval(until);
      }, 100);
    }
  }

  /// The new clip at the top of the list: reloaded when the list shows the newest clips,
  /// else placed above them so it is seen without losing the search.
  async function showNew(made) {
    if (!made.key) { await loadList(false); return; }
    if (state.offset === 0) await loadList(false);
    let i = state.items.findIndex((c) => c.key === made.key);
    if (i < 0 && made.text && made.blob) {
      const c = Object.assign({}, made);
      delete c.tier; delete c.path;
      if (typeof c.pinned !== "boolean") c.pinned = false;
      state.items.unshift(c);
      render();
      i = 0;
    }
    if (i >= 0) {
      state.cur = i;
      highlight();
      const row = document.getElementById("clip-" + made.key);
      if (row) { row.classList.add("fresh"); row.scrollIntoView({ block: "nearest" }); }
    }
    if (window.matchMedia("(max-width: 999px)").matches) showTab("clips");
  }

  // ---- Dashboard

  async function poll() {
    if (document.hidden) return;
    let s;
    try { s = await getJSON("/v1/stats"); } catch (e) { $("dash-updated").textContent = "stats unavailable: " + e.message; return; }
    const p = s.process || {}, hits = p.hits || {};
    const totals = { memory: hits.memory || 0, local: hits.local || 0, redis: hits.redis || 0, engine: p.engine_requests || 0 };
    const prev = state.last;
    state.last = totals;
    if (prev) {
      const d = { memory: totals.memory - prev.memory, local: totals.local - prev.local, redis: totals.redis - prev.redis, engine: totals.engine - prev.engine };
      state.history.push(d);
      if (state.history.length > 60) state.history.shift();
    }
    drawRatio(totals);
    drawEngine(p.engine_calls || {});
    drawStore(s.local || {}, s.budget || {});
    drawMoney(s);
    drawHealth(s.health, s.redis);
    $("dash-updated").textContent = "updated " + new Date().toLocaleTimeString();
  }
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }
  function drawRatio(totals) {
    const W = 200, H = 90, sum = totals.memory + totals.local + totals.redis + totals.engine;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img",
      "aria-label": sum ? `memory ${totals.memory}, local ${totals.local}, redis ${totals.redis}, engine ${totals.engine}` : "no requests yet" });
    // The bar: every request this process served, by tier.
    let x = 0;
    for (const tier of ["memory", "local", "redis", "engine"]) {
      const w = sum ? (totals[tier] / sum) * W : 0;
      if (w > 0) { const r = svg("rect", { x, y: 0, width: w, height: 16 }); r.style.fill = TIER_COLORS[tier]; root.append(r); }
      x += w;
    }
    if (!sum) { const r = svg("rect", { x: 0, y: 0, width: W, height: 16 }); r.style.fill = "var(--line)"; root.append(r); }
    // Over time: the share of each poll's requests that no engine call answered.
    const points = state.history.map((d, i) => {
      const n = d.memory + d.local + d.redis + d.engine;
      return n ? [i, (d.memory + d.local + d.redis) / n] : null;
    }).filter(Boolean);
    const base = svg("line", { x1: 0, y1: H - 1, x2: W, y2: H - 1 });
    base.style.stroke = "var(--line)";
    root.append(base);
    if (points.length) {
      const step = W / Math.max(1, 59);
      const path = points.map(([i, r], k) => (k ? "L" : "M") + (i * step).toFixed(1) + " " + (H - 2 - r * (H - 26)).toFixed(1)).join(" ");
      const line = svg("path", { d: path, fill: "none", "stroke-width": 2, "vector-effect": "non-scaling-stroke" });
      line.style.stroke = "var(--local)";
      root.append(line);
    }
    $("c-ratio").replaceChildren(root);
    const pct = (n) => sum ? Math.round((n / sum) * 100) + "%" : "–";
    $("c-ratio-legend").replaceChildren(...["memory", "local", "redis", "engine"].map((tier) => {
      const i = el("i");
      i.style.background = TIER_COLORS[tier];
      return el("span", {}, i, `${tier} ${pct(totals[tier])} (${totals[tier]})`);
    }), el("span", { text: "line: cache answers per poll" }));
  }
  function drawEngine(calls) {
    // Successful calls, and each kind of failure that happened (the stats list every kind).
    const entries = Object.entries(calls).filter(([kind, n]) => kind === "ok" || n > 0);
    if (!entries.some(([kind]) => kind === "ok")) entries.unshift(["ok", 0]);
    const W = 200, H = 90;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "xMinYMin meet", role: "img", "aria-label": entries.map(([k, v]) => `${k} ${v}`).join(", ") || "no engine calls" });
    const max = Math.max(1, ...entries.map(([, v]) => v));
    const rowH = entries.length ? Math.min(22, H / entries.length) : 22;
    entries.forEach(([kind, n], i) => {
      const y = i * rowH;
      const bar = svg("rect", { x: 70, y: y + 3, width: Math.max(1, (n / max) * (W - 110)), height: rowH - 8 });
      bar.style.fill = kind === "ok" ? "var(--local)" : "var(--danger)";
      const label = svg("text", { x: 0, y: y + rowH / 2 + 4, class: "label" });
      label.textContent = kind;
      const value = svg("text", { x: 74 + (n / max) * (W - 110), y: y + rowH / 2 + 4, class: "label" });
      value.textContent = String(n);
      root.append(bar, label, value);
    });
    if (entries.every(([, n]) => n === 0)) { const t = svg("text", { x: 0, y: 44, class: "label" }); t.textContent = "no engine calls yet"; root.append(t); }
    $("c-engine").replaceChildren(root);
  }
  function drawStore(local, budget) {
    const W = 200, H = 90, used = local.bytes || 0, max = budget.max_bytes;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "xMinYMin meet", role: "img", "aria-label": `${bytes(used)} of ${max ? bytes(max) : "no budget"}` });
    const track = svg("rect", { x: 0, y: 10, width: W, height: 18, rx: 4 });
    track.style.fill = "var(--line)";
    const fraction = max ? Math.min(1, used / max) : 0;
    const fill = svg("rect", { x: 0, y: 10, width: max ? Math.max(2, fraction * W) : 0, height: 18, rx: 4 });
    fill.style.fill = fraction > 0.9 ? "var(--danger)" : "var(--accent)";
    const text = svg("text", { x: 0, y: 48, class: "label" });
    text.textContent = max ? `${bytes(used)} of ${bytes(max)} (${Math.round(fraction * 100)}%)` : `${bytes(used)}, no budget set`;
    const clips = svg("text", { x: 0, y: 66, class: "label" });
    clips.textContent = `${local.clips || 0} clips, ${local.pinned || 0} pinned, ${local.blobs || 0} blobs`;
    const dedup = svg("text", { x: 0, y: 84, class: "label" });
    dedup.textContent = `dedup saved ${bytes(local.dedup_saved_bytes || 0)}`;
    root.append(track, fill, text, clips, dedup);
    $("c-store").replaceChildren(root);
  }
  function drawMoney(s) {
    const local = s.local && s.local.money_saved, shared = s.redis && s.redis.money_saved;
    const box = $("c-money");
    if (typeof local !== "number" && typeof shared !== "number") {
      box.replaceChildren("–", el("small", { text: "set TTS_PRICE_PER_CALL or TTS_PRICE_PER_AUDIO_SECOND to see it" }));
      return;
    }
    const parts = [(typeof local === "number" ? local : shared).toFixed(4),
      el("small", { text: typeof local === "number" ? `by ${s.local.hits || 0} local hits` : "across Redis" })];
    if (typeof shared === "number" && typeof local === "number") parts.push(el("small", { text: `${shared.toFixed(4)} across every machine sharing Redis` }));
    box.replaceChildren(...parts);
  }
  function drawHealth(health, redisCounters) {
    const items = [];
    const r = health && health.redis;
    if (r) items.push(el("li", { class: !r.enabled ? "off" : (r.reachable ? "" : "bad"),
      text: "Redis: " + (!r.enabled ? "off" : (r.reachable ? "reachable" : "unreachable (local tier serves alone)")) }));
    else items.push(el("li", { class: redisCounters ? "" : "off", text: "Redis: " + (redisCounters ? "reachable" : "off or unreachable") }));
    for (const e of (health && health.engines) || []) {
      items.push(el("li", { class: e.ready ? "" : "bad", text: `${e.engine}: ${e.ready ? "ready" : "unavailable"}`, title: e.detail || "" }));
    }
    $("c-health").replaceChildren(...items);
  }

  // ---- Keyboard, tabs, wiring

  function move(delta) {
    if (!state.items.length) return;
    state.cur = Math.min(state.items.length - 1, Math.max(0, state.cur + delta));
    highlight();
    const row = $("list").children[state.cur];
    if (row) row.scrollIntoView({ block: "nearest" });
  }
  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target.closest("input, textarea, select, dialog, [contenteditable]")) {
      if (ev.key === "Escape" && ev.target.id === "q") ev.target.blur();
      return;
    }
    const c = state.items[state.cur];
    switch (ev.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case " ": if (c) togglePlay(c); break;
      case "x": if (c) { const box = $("list").children[state.cur].querySelector("input.sel"); box.checked = !box.checked; box.dispatchEvent(new Event("change")); } break;
      case "p": if (c) togglePin(c); break;
      case "/": $("q").focus(); break;
      default: return;
    }
    ev.preventDefault();
  }
  function showTab(name) {
    for (const b of $("tabs").querySelectorAll("button")) b.classList.toggle("on", b.dataset.tab === name);
    for (const id of ["clips", "say", "dash"]) $(id).classList.toggle("on", id === name);
  }
  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  function start() {
    loadHash();
    showTab("clips");
    $("signout").hidden = !token();
    $("signout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); $("signout").hidden = true; toast("Token forgotten for this tab."); });
    $("tabs").addEventListener("click", (ev) => { const b = ev.target.closest("button"); if (b) showTab(b.dataset.tab); });
    const research = debounce(() => { state.offset = 0; loadList(false); }, 250);
    for (const id of ["q", "f-voice", "f-lang", "f-model"]) $(id).addEventListener("input", research);
    $("f-engine").addEventListener("change", research);
    $("f-limit").addEventListener("change", () => { state.limit = parseInt($("f-limit").value, 10); state.offset = 0; loadList(false); });
    $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); loadList(false); });
    $("next").addEventListener("click", () => { state.offset += state.limit; loadList(false); });
    $("select-all").addEventListener("change", () => {
      for (const c of state.items) if ($("select-all").checked) state.selected.add(c.key); else state.selected.delete(c.key);
      for (const b of $("list").querySelectorAll("input.sel")) b.checked = $("select-all").checked;
      updateSelection();
    });
    $("export").addEventListener("click", exportSelected);
    $("say-form").addEventListener("submit", say);
    $("say-stream").addEventListener("click", sayStreaming);
    $("say-text").addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) $("say-form").requestSubmit(); });
    $("say-engine").addEventListener("change", () => loadVoices($("say-engine").value));
    const player = $("player");
    for (const name of ["timeupdate", "play", "pause", "ended"]) player.addEventListener(name, onProgress);
    document.addEventListener("keydown", onKey);
    window.addEventListener("resize", debounce(() => { for (const c of state.items) if (c.peaks) drawWave(c, c.peaks); }, 150));
    document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
    loadList(false).then(() => loadVoices("")).then(poll);
    setInterval(poll, 5000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
"""#
}
