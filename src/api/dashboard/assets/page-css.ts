/** The dashboard's styles: light and dark from the system setting, one column on a phone. */
export const PAGE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --panel: #ffffff; --text: #1c2128; --muted: #646e7b; --faint: #8b949e;
  --border: #dfe3e8; --row: #f6f8fa; --hover: #eef1f4;
  --accent: #2f6feb; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e;
  --ok-bg: #dafbe1; --warn-bg: #fff8c5; --bad-bg: #ffebe9; --info-bg: #ddf4ff; --idle-bg: #eaeef2;
  --critical: #cf222e; --critical-bg: #ffebe9; --high: #bc4c00; --high-bg: #fff1e5;
  --normal: #0969da; --normal-bg: #ddf4ff; --low: #59636e; --low-bg: #eaeef2;
  --log-bg: #0f141a; --log-text: #d1d7e0; --log-muted: #7d8590;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "DejaVu Sans", Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --panel: #151b23; --text: #e6edf3; --muted: #9198a1; --faint: #6e7681;
    --border: #2a313c; --row: #1a2029; --hover: #212833;
    --accent: #4493f8; --ok: #3fb950; --warn: #d29922; --bad: #f85149;
    --ok-bg: #12361f; --warn-bg: #3a2e0a; --bad-bg: #42181a; --info-bg: #10294a; --idle-bg: #262c36;
    --critical: #ff7b72; --critical-bg: #4a1a1c; --high: #ffa657; --high-bg: #3d2410;
    --normal: #79c0ff; --normal-bg: #10294a; --low: #9198a1; --low-bg: #262c36;
    --log-bg: #010409; --log-text: #d1d7e0; --log-muted: #6e7681;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 var(--sans); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre { font-family: var(--mono); }
[hidden] { display: none !important; }
.show-sm { display: none !important; }
.muted { color: var(--muted); }
.mono { font-family: var(--mono); font-size: 12.5px; }
.num { font-variant-numeric: tabular-nums; }

.top { position: sticky; top: 0; z-index: 2; display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--border); }
.brand { display: flex; align-items: center; gap: 10px; min-width: 0; flex-wrap: wrap; }
.brand h1 { margin: 0; font-size: 17px; font-weight: 650; letter-spacing: .2px; }
.mark { width: 18px; height: 18px; border-radius: 5px; background: linear-gradient(135deg, var(--accent), #8957e5); }
.badge { padding: 1px 8px; border-radius: 999px; border: 1px solid var(--border); color: var(--muted); font-size: 12px; white-space: nowrap; }
.conn { display: inline-flex; align-items: center; gap: 7px; font-size: 13px; color: var(--muted); white-space: nowrap; }
.conn::before { content: ""; width: 9px; height: 9px; border-radius: 50%; background: var(--faint); }
.conn[data-state="live"]::before { background: var(--ok); box-shadow: 0 0 0 3px var(--ok-bg); }
.conn[data-state="polling"]::before { background: var(--warn); }
.conn[data-state="reconnecting"]::before, .conn[data-state="connecting"]::before { background: var(--warn); animation: pulse 1s infinite alternate; }
.conn[data-state="offline"]::before, .conn[data-state="signed-out"]::before { background: var(--bad); }
@keyframes pulse { from { opacity: 1; } to { opacity: .3; } }

main { max-width: 1360px; margin: 0 auto; padding: 16px 20px 8px; }
.banner { margin-bottom: 14px; padding: 10px 14px; border-radius: 8px; background: var(--bad-bg); color: var(--bad); border: 1px solid var(--bad); }
.banner.info { background: var(--info-bg); color: var(--text); border-color: var(--accent); }

.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; margin-bottom: 14px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 12px 14px; min-width: 0; }
.card h3 { margin: 0 0 6px; font-size: 11.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); }
.card .big { font-size: 24px; font-weight: 650; line-height: 1.2; font-variant-numeric: tabular-nums; display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.card .big small { font-size: 14px; font-weight: 500; color: var(--muted); }
.card .line { color: var(--muted); font-size: 12.5px; margin-top: 3px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.card .line.bad { color: var(--bad); }
.card .line.host, .card .line.wrap { white-space: normal; overflow-wrap: anywhere; }
.card .line.host { margin-top: 6px; }
.card .line.host b { font-weight: 600; color: var(--text); }
.card .line.host.bad b { color: inherit; }
.bar { height: 6px; border-radius: 3px; background: var(--idle-bg); margin: 8px 0 2px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--accent); border-radius: 3px; transition: width .3s; }
.bar.full > span { background: var(--warn); }
.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(64px, 1fr)); gap: 6px 10px; }
.totals div { display: flex; flex-direction: column; }
.totals b { font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; }
.totals span { font-size: 11.5px; color: var(--muted); }

.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; margin-bottom: 14px; min-width: 0; overflow: hidden; }
.panel h2 { margin: 0; padding: 10px 14px; font-size: 14px; font-weight: 620; border-bottom: 1px solid var(--border); display: flex; align-items: center; gap: 8px; }
.count { font-weight: 500; color: var(--muted); font-size: 12.5px; }
.columns { display: grid; grid-template-columns: minmax(0, 1.85fr) minmax(0, 1.15fr); gap: 14px; align-items: start; }
.columns .panel { margin-bottom: 14px; }
.table-wrap { overflow-x: auto; }
.table-wrap.scroll { max-height: 460px; overflow-y: auto; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; font-weight: 600; font-size: 11.5px; text-transform: uppercase; letter-spacing: .4px; color: var(--muted);
  padding: 7px 10px; border-bottom: 1px solid var(--border); white-space: nowrap; position: sticky; top: 0; background: var(--panel); }
td { padding: 7px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
tr:last-child td { border-bottom: 0; }
tbody tr:hover td { background: var(--hover); }
td.empty { color: var(--muted); text-align: center; padding: 18px; font-style: italic; }
td.task { min-width: 220px; }
.task .id { font-family: var(--mono); font-size: 11.5px; color: var(--muted); margin-right: 6px; white-space: nowrap; }
.task .title { overflow-wrap: anywhere; }
.sub { display: block; color: var(--muted); font-size: 12px; overflow-wrap: break-word; }
td.nowrap, th.nowrap { white-space: nowrap; }
td.zero { color: var(--faint); }

tr.p-critical td:first-child { box-shadow: inset 3px 0 0 var(--critical); }
tr.p-high td:first-child { box-shadow: inset 3px 0 0 var(--high); }
tr.p-normal td:first-child { box-shadow: inset 3px 0 0 transparent; }
tr.p-low td:first-child { box-shadow: inset 3px 0 0 var(--border); }
tr.p-critical td { background: color-mix(in srgb, var(--critical-bg) 45%, transparent); }
.prio { display: inline-block; min-width: 64px; text-align: center; padding: 1px 7px; border-radius: 4px; font-size: 11px; font-weight: 700; letter-spacing: .4px; }
.prio.critical { color: var(--critical); background: var(--critical-bg); }
.prio.high { color: var(--high); background: var(--high-bg); }
.prio.normal { color: var(--normal); background: var(--normal-bg); }
.prio.low { color: var(--low); background: var(--low-bg); }
.status { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11.5px; font-weight: 600; white-space: nowrap; }
.status.good { color: var(--ok); background: var(--ok-bg); }
.status.bad { color: var(--bad); background: var(--bad-bg); }
.status.busy { color: var(--accent); background: var(--info-bg); }
.status.wait { color: var(--warn); background: var(--warn-bg); }
.status.idle { color: var(--muted); background: var(--idle-bg); }
button.stop { font: inherit; font-size: 12px; padding: 2px 10px; border-radius: 6px; border: 1px solid var(--bad); color: var(--bad); background: transparent; cursor: pointer; }
button.stop:hover:not(:disabled) { background: var(--bad-bg); }
button.stop:disabled { opacity: 0.6; cursor: default; }
.overdue { color: var(--bad); font-weight: 600; }

@keyframes fresh { from { background: var(--warn-bg); } to { background: transparent; } }
tr.fresh td { animation: fresh 2.5s ease-out; }

#groups td:first-child { min-width: 96px; }
#groups .sub { white-space: nowrap; }
#groups .sub.paused { color: var(--bad); white-space: normal; }
#groups th:not(:first-child), td.count-cell { text-align: right; }
#groups th, #groups td { padding-left: 8px; padding-right: 8px; }
#groups th { letter-spacing: 0; font-size: 11px; }
.daemons { padding: 8px 14px 12px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--border); }
.daemons:empty { display: none; }

.log { height: 340px; overflow: auto; background: var(--log-bg); color: var(--log-text); font: 12px/1.55 var(--mono); padding: 8px 0; }
.log .line { padding: 0 14px; white-space: pre-wrap; overflow-wrap: anywhere; }
.log .line:hover { background: rgba(255, 255, 255, .04); }
.log time { color: var(--log-muted); margin-right: 8px; }
.log .lvl { display: inline-block; width: 44px; color: var(--log-muted); }
.log .tag { color: #a5d6ff; margin-right: 6px; }
.log .lvl-warn .lvl, .log .lvl-warn .msg { color: #e3b341; }
.log .lvl-error .lvl, .log .lvl-error .msg { color: #ff7b72; }
.log .lvl-debug .msg { color: var(--log-muted); }

.foot { max-width: 1360px; margin: 0 auto; padding: 4px 20px 18px; color: var(--faint); font-size: 12px; }

.sign-in { max-width: 560px; margin: 12vh auto; background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 20px 24px; }
.sign-in pre { background: var(--row); padding: 10px; border-radius: 6px; overflow-x: auto; }
.sign-in .bad { color: var(--bad); }

@media (max-width: 1000px) {
  .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .columns { grid-template-columns: minmax(0, 1fr); }
}
@media (max-width: 560px) {
  .top { padding: 8px 12px; }
  main { padding: 12px 10px 4px; }
  .cards { gap: 8px; }
  .card { padding: 10px; }
  .card .big { font-size: 20px; }
  .hide-sm { display: none; }
  table { font-size: 12.5px; }
  th, td { padding: 6px 7px; }
  td.task { min-width: 150px; }
  .prio { min-width: 0; padding: 1px 5px; font-size: 10px; }
  .prio.show-sm { display: inline-block !important; margin-right: 6px; }
  #running tr.p-critical td.task, #waiting tr.p-critical td.task { box-shadow: inset 3px 0 0 var(--critical); }
  #running tr.p-high td.task, #waiting tr.p-high td.task { box-shadow: inset 3px 0 0 var(--high); }
  #groups td:first-child { min-width: 64px; }
  #groups th, #groups td { padding-left: 5px; padding-right: 5px; }
  #groups th { font-size: 10px; }
  .log { height: 300px; font-size: 11.5px; }
}
`;
