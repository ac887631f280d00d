/// The console's page. The markup, style and script live in the binary as Swift string
/// literals (this file, `ConsoleStyle.swift`, `ConsoleScript.swift`) rather than as SwiftPM
/// resources: a literal needs no bundle beside the executable, so an installed or copied
/// `tts-repl` serves the page with nothing else to install, and there is no build step.
/// No framework, no CDN, no external font: the server may be offline.
enum ConsolePage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tts-repl console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console.css">
<script src="/console.js" defer></script>
</head>
<body>
<header class="top">
  <h1>tts-repl <span>console</span></h1>
  <nav id="tabs" aria-label="Sections">
    <button type="button" data-tab="clips" class="on">Clips</button>
    <button type="button" data-tab="say">Say</button>
    <button type="button" data-tab="dash">Dashboard</button>
  </nav>
  <button type="button" id="signout" class="quiet" hidden>Forget token</button>
</header>

<main id="layout">
  <section id="say" class="panel" aria-labelledby="say-title">
    <h2 id="say-title">Say</h2>
    <form id="say-form">
      <textarea id="say-text" rows="3" maxlength="5000" placeholder="Type a phrase to speak, e.g. Your call is important to us." required></textarea>
      <div class="pickers">
        <label>Engine <select id="say-engine"></select></label>
        <label>Voice <select id="say-voice"></select></label>
        <label>Language <input id="say-lang" list="lang-list" placeholder="auto" autocomplete="off"></label>
        <label>Style <input id="say-style" placeholder="none, e.g. cheerfully" autocomplete="off"></label>
      </div>
      <div class="row">
        <button type="submit" id="say-go" class="primary">Say</button>
        <button type="button" id="say-stream" title="Hear it from its first piece while the rest is made">Say and play as it streams</button>
        <span id="say-result" class="status" role="status"></span>
      </div>
    </form>
    <datalist id="lang-list"></datalist>
  </section>

  <section id="clips" class="panel" aria-labelledby="clips-title">
    <h2 id="clips-title">Clips</h2>
    <div class="search">
      <input id="q" type="search" placeholder="Search the text of every clip…" aria-label="Search clip text" autocomplete="off">
      <details id="filters">
        <summary>Filters</summary>
        <div class="pickers">
          <label>Voice <input id="f-voice" autocomplete="off"></label>
          <label>Language <input id="f-lang" list="lang-list" autocomplete="off"></label>
          <label>Engine <select id="f-engine"><option value="">any</option></select></label>
          <label>Model <input id="f-model" autocomplete="off"></label>
          <label>Per page <select id="f-limit"><option>10</option><option selected>25</option><option>50</option><option>100</option></select></label>
        </div>
      </details>
    </div>
    <div class="toolbar">
      <label class="check"><input type="checkbox" id="select-all" aria-label="Select every clip on this page"> all</label>
      <button type="button" id="export" disabled>Export selected</button>
      <span id="selection" class="status"></span>
      <span class="spacer"></span>
      <span class="pager">
        <button type="button" id="prev" aria-label="Previous page">‹</button>
        <span id="range" class="status"></span>
        <button type="button" id="next" aria-label="Next page">›</button>
      </span>
    </div>
    <p id="list-status" class="status" role="status"></p>
    <ol id="list" aria-label="Clips, newest first"></ol>
    <p class="keys">Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>space</kbd> play, <kbd>x</kbd> select, <kbd>p</kbd> pin, <kbd>/</kbd> search</p>
  </section>

  <section id="dash" class="panel" aria-labelledby="dash-title">
    <h2 id="dash-title">Dashboard <span id="dash-updated" class="status"></span></h2>
    <div class="cards">
      <div class="card"><h3>Hit ratio by tier</h3><div id="c-ratio" class="chart"></div><div id="c-ratio-legend" class="legend"></div></div>
      <div class="card"><h3>Engine calls</h3><div id="c-engine" class="chart"></div></div>
      <div class="card"><h3>Store against budget</h3><div id="c-store" class="chart"></div></div>
      <div class="card"><h3>Money saved</h3><div id="c-money" class="figure"></div></div>
      <div class="card"><h3>Health</h3><ul id="c-health" class="health"></ul></div>
    </div>
  </section>
</main>

<footer id="player-bar">
  <span id="now-playing" class="status">Nothing playing</span>
  <audio id="player" controls preload="none"></audio>
</footer>

<dialog id="token-dialog">
  <form method="dialog" id="token-form">
    <h2>Token needed</h2>
    <p>This server asks for a token. Paste one of the tokens it was started with; it is kept in this browser tab only.</p>
    <input id="token-input" type="password" autocomplete="off" aria-label="Token" required>
    <p id="token-error" class="error"></p>
    <div class="row"><button type="submit" class="primary" value="ok">Use token</button></div>
  </form>
</dialog>

<dialog id="confirm-dialog">
  <form method="dialog">
    <h2 id="confirm-title">Are you sure?</h2>
    <p id="confirm-text"></p>
    <div class="row">
      <button value="cancel" id="confirm-cancel">Cancel</button>
      <button value="ok" id="confirm-ok" class="danger">OK</button>
    </div>
  </form>
</dialog>

<div id="toast" role="alert" hidden></div>
</body>
</html>
"""#
}
