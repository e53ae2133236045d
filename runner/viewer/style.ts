/**
 * The viewer's one stylesheet, served from /assets/style.css so the
 * Content-Security-Policy can forbid inline styles and every other origin.
 * Phone first: tables scroll sideways inside their own box.
 */
export const STYLE = `
:root { --fg:#1d2329; --muted:#5b6670; --line:#d8dde2; --bg:#fff; --panel:#f5f7f9; --accent:#1f5fa8;
  --auto:#2b6cb0; --collab:#d9822b; --warn-bg:#fff4e0; --warn:#8a4b00; --bad:#a61b1b; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:wrap; gap:.25rem 1rem; align-items:baseline; padding:.6rem 1rem; border-bottom:1px solid var(--line); background:var(--panel); }
header .brand { font-weight:700; margin-right:auto; }
header nav { display:flex; flex-wrap:wrap; gap:.25rem .9rem; }
header form { display:inline; margin:0; }
header .zone { color:var(--muted); font-size:.9em; width:100%; }
a { color:var(--accent); }
main { padding:1rem; max-width:80rem; margin:0 auto; }
h1 { font-size:1.35rem; margin:.2rem 0 .8rem; }
h2 { font-size:1.1rem; margin:1.6rem 0 .5rem; }
.muted { color:var(--muted); }
.scroll { overflow-x:auto; -webkit-overflow-scrolling:touch; border:1px solid var(--line); border-radius:6px; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { padding:.35rem .55rem; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; white-space:nowrap; }
td.num, th.num { text-align:right; }
td.text { white-space:pre-wrap; word-break:break-word; min-width:12rem; max-width:28rem; }
th.group { text-align:center; border-left:1px solid var(--line); }
.first-of-group { border-left:1px solid var(--line); }
thead th { background:var(--panel); position:sticky; top:0; }
tbody tr:nth-child(even) { background:#fafbfc; }
tfoot td { font-weight:600; background:var(--panel); }
.null { color:var(--muted); font-style:italic; }
.silent { display:inline-block; padding:0 .4rem; border-radius:4px; background:var(--warn-bg); color:var(--warn); font-weight:600; }
.firing { display:inline-block; padding:0 .4rem; border-radius:4px; background:#fdecec; color:var(--bad); font-weight:600; }
.alert-banner { padding:.6rem .8rem; border-left:4px solid var(--bad); background:#fdecec; color:var(--bad); margin:.8rem 0; font-weight:600; }
.error { padding:.6rem .8rem; border-left:4px solid var(--bad); background:#fdecec; color:var(--bad); margin:.8rem 0; }
.note { padding:.5rem .8rem; border-left:4px solid var(--line); background:var(--panel); margin:.8rem 0; }
form.filters { display:flex; flex-wrap:wrap; gap:.5rem .8rem; align-items:flex-end; margin:.5rem 0 1rem; }
form.filters label { display:flex; flex-direction:column; font-size:.85em; color:var(--muted); }
input, select, textarea, button { font:inherit; padding:.3rem .45rem; border:1px solid var(--line); border-radius:4px; background:#fff; color:var(--fg); }
button { background:var(--accent); color:#fff; border-color:var(--accent); cursor:pointer; }
button.link { background:none; border:none; color:var(--accent); padding:0; text-decoration:underline; }
textarea { width:100%; min-height:7rem; font-family:ui-monospace, Menlo, Consolas, monospace; }
.pager { display:flex; flex-wrap:wrap; gap:.6rem; align-items:center; margin:.7rem 0; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(15rem, 1fr)); gap:.8rem; }
.card { border:1px solid var(--line); border-radius:6px; padding:.6rem .8rem; }
.card .big { font-size:1.4rem; font-weight:700; }
.legend { display:flex; flex-wrap:wrap; gap:.8rem; font-size:.9em; margin:.3rem 0; }
.swatch { display:inline-block; width:.8em; height:.8em; border-radius:2px; vertical-align:middle; margin-right:.3em; }
.swatch.auto { background:var(--auto); } .swatch.collab { background:var(--collab); }
svg.chart { width:100%; height:auto; display:block; }
svg.chart .auto { fill:var(--auto); } svg.chart .collab { fill:var(--collab); }
svg.chart .axis { stroke:var(--line); } svg.chart text { fill:var(--muted); font-size:11px; }
.charts { display:grid; grid-template-columns:repeat(auto-fit, minmax(20rem, 1fr)); gap:1rem; }
.charts figure { margin:0; border:1px solid var(--line); border-radius:6px; padding:.5rem; }
figure.wide { margin:0; border:1px solid var(--line); border-radius:6px; padding:.5rem; max-width:60rem; }
.charts figcaption, figure.wide figcaption { font-weight:600; overflow-wrap:anywhere; }
code, pre { font-family:ui-monospace, Menlo, Consolas, monospace; font-size:.92em; }
ul.tables { padding-left:1.2rem; }
@media (max-width: 40rem) { main { padding:.6rem; } th, td { padding:.3rem .4rem; } }
/* Reports print on A4 without the navigation: tables whole, charts two to a row, none split across pages. */
@page { size: A4; margin: 12mm; }
@media print {
  header, .no-print { display:none !important; }
  body { font-size:9pt; }
  main { padding:0; max-width:none; }
  .scroll { overflow:visible; border:none; }
  thead th { position:static; }
  th, td { padding:.1rem .25rem; white-space:normal; }
  td.text { min-width:0; }
  table.report { font-size:7.5pt; }
  table.report th, table.report td { padding:.1rem .15rem; }
  .charts { grid-template-columns:repeat(2, 1fr); }
  figure, tr { break-inside:avoid; }
  h2 { break-after:avoid; }
}
`;
