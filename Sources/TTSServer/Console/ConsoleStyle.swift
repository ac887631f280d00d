/// The console's style sheet: system fonts, light and dark, one column below 1000 px (sections
/// as tabs), clips beside Say and the dashboard above it.
enum ConsoleStyle {
    static let css = #"""
:root {
  --bg: #f6f7f9; --panel: #fff; --fg: #1c2230; --muted: #5f6b7a; --line: #dde2e8;
  --accent: #2459d6; --accent-fg: #fff; --danger: #c62f2f; --sel: #e8effd; --pin: #c78a00;
  --memory: #1f7a8c; --local: #2e9d5b; --redis: #d9542b; --engine: #6b4fd8; --wave: #9aa7b8; --played: #2459d6;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12151b; --panel: #1b2029; --fg: #e4e8ee; --muted: #9aa5b4; --line: #2e3542;
    --accent: #6f9bff; --accent-fg: #0d1320; --sel: #233049; --wave: #5a6576; --played: #6f9bff;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body {
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  background: var(--bg); color: var(--fg); padding-bottom: 72px;
}
h1 { font-size: 18px; margin: 0; white-space: nowrap; }
h1 span { color: var(--muted); font-weight: 400; }
h2 { font-size: 16px; margin: 0 0 10px; }
h3 { font-size: 13px; margin: 0 0 6px; color: var(--muted); font-weight: 600; }
button, input, select, textarea { font: inherit; color: inherit; }
input, select, textarea {
  background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; min-width: 0;
}
textarea { width: 100%; resize: vertical; }
button {
  background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; cursor: pointer;
}
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: .45; cursor: default; }
button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
button.danger { background: var(--danger); color: #fff; border-color: var(--danger); }
button.quiet { border-color: transparent; color: var(--muted); }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
kbd { border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 4px; font-size: 12px; }

.top {
  display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: var(--panel);
  border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 5; flex-wrap: wrap;
}
#tabs { display: flex; gap: 4px; margin-left: auto; }
#tabs button.on { background: var(--sel); border-color: var(--accent); }
#signout { margin-left: 4px; }
@media (max-width: 420px) {
  .top { padding: 8px 10px; gap: 8px; }
  h1 span { display: none; }
  #tabs button { padding: 5px 8px; }
  #layout { padding: 8px; }
  .panel { padding: 10px; }
}

#layout { display: grid; gap: 14px; padding: 14px; max-width: 1500px; margin: 0 auto; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px; min-width: 0; }
@media (max-width: 999px) {
  #layout > .panel:not(.on) { display: none; }
}
@media (min-width: 1000px) {
  #tabs { display: none; }
  #layout {
    grid-template-columns: minmax(0, 1fr) 380px; grid-template-rows: auto 1fr;
    grid-template-areas: "clips say" "clips dash"; align-items: start;
  }
  #clips { grid-area: clips; } #say { grid-area: say; } #dash { grid-area: dash; }
}

.pickers { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin: 8px 0; }
.pickers label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
.pickers label > * { color: var(--fg); font-size: 14px; }
.row { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.status { color: var(--muted); font-size: 13px; }
.error { color: var(--danger); font-size: 13px; }
.tier { display: inline-block; padding: 0 7px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
.tier.memory { background: var(--memory); } .tier.local { background: var(--local); } .tier.redis { background: var(--redis); } .tier.engine { background: var(--engine); }

.search { display: flex; flex-direction: column; gap: 6px; }
#q { width: 100%; font-size: 16px; padding: 8px 10px; }
#filters summary { cursor: pointer; color: var(--muted); font-size: 13px; }
.toolbar { display: flex; align-items: center; gap: 8px; margin: 10px 0 4px; flex-wrap: wrap; }
.toolbar .spacer { flex: 1; }
.pager { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.check { display: inline-flex; align-items: center; gap: 4px; font-size: 13px; color: var(--muted); }

#list { list-style: none; margin: 0; padding: 0; }
.clip {
  display: grid; grid-template-columns: auto auto minmax(0, 1fr) auto; gap: 4px 10px; align-items: center;
  padding: 8px 6px; border-top: 1px solid var(--line); border-radius: 6px;
}
.clip.cur { background: var(--sel); }
.clip.fresh { animation: fresh 1.5s ease-out; }
@keyframes fresh { from { background: #fff3c4; } }
.clip .play { width: 36px; height: 36px; border-radius: 50%; padding: 0; font-size: 14px; }
.clip.playing .play { background: var(--accent); color: var(--accent-fg); }
.clip .body { min-width: 0; }
.clip .text { overflow-wrap: anywhere; }
.clip .meta { color: var(--muted); font-size: 12px; display: flex; flex-wrap: wrap; gap: 2px 10px; }
.clip .meta .pinned { color: var(--pin); font-weight: 600; }
.clip canvas { width: 100%; height: 30px; display: block; margin-top: 4px; cursor: pointer; }
.clip .acts { display: flex; gap: 4px; }
.clip .acts button { padding: 4px 8px; font-size: 13px; }
.clip .acts .pin.on { color: var(--pin); border-color: var(--pin); }
@media (max-width: 520px) {
  .clip { grid-template-columns: auto auto minmax(0, 1fr); }
  .clip .acts { grid-column: 1 / -1; justify-content: flex-end; }
}
.keys { color: var(--muted); font-size: 12px; margin: 10px 0 0; }
@media (hover: none) { .keys { display: none; } }

.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px; min-width: 0; }
.chart svg { width: 100%; height: 90px; display: block; }
.chart .label { font-size: 12px; fill: var(--muted); }
.legend { display: flex; gap: 8px; flex-wrap: wrap; font-size: 12px; color: var(--muted); margin-top: 4px; }
.legend i { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 3px; }
.figure { font-size: 22px; font-weight: 600; }
.figure small { display: block; font-size: 12px; font-weight: 400; color: var(--muted); }
.health { list-style: none; padding: 0; margin: 0; font-size: 13px; }
.health li { display: flex; gap: 6px; align-items: baseline; overflow-wrap: anywhere; }
.health li::before { content: "●"; color: var(--local); }
.health li.bad::before { color: var(--danger); }
.health li.off::before { color: var(--muted); }

#player-bar {
  position: fixed; left: 0; right: 0; bottom: 0; display: flex; align-items: center; gap: 10px; padding: 6px 12px;
  background: var(--panel); border-top: 1px solid var(--line); z-index: 5;
}
#now-playing { flex: 1; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#player { height: 36px; width: min(420px, 60vw); }

dialog { border: 1px solid var(--line); border-radius: 10px; background: var(--panel); color: var(--fg); max-width: min(440px, 92vw); }
dialog::backdrop { background: rgba(0, 0, 0, .35); }
dialog input { width: 100%; margin: 6px 0; }
dialog .row { justify-content: flex-end; }
#toast {
  position: fixed; bottom: 64px; left: 50%; transform: translateX(-50%); background: var(--fg); color: var(--bg);
  padding: 8px 14px; border-radius: 8px; max-width: 92vw; z-index: 10; font-size: 14px;
}
"""#
}
