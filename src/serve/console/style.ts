/**
 * The console's one stylesheet, served at /ui/assets/console.css. A TypeScript string rather than a
 * .css file because the package ships what `tsc` emits (dist/) and nothing else. Colours meet WCAG
 * AA contrast on white; overlap and only-in-one-list are also said in words, never by colour alone.
 */
import { createHash } from 'node:crypto';

export const CONSOLE_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; --both: #e6f4ea; --both-line: #1a7f37; --only: #fff8e1; --only-line: #9a6700; --bad: #b42318; font-family: system-ui, sans-serif; color: var(--fg); line-height: 1.4; }
body { margin: 0; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
header.top { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: #f6f8fa; }
header.top .brand { font-weight: 700; margin-right: 1rem; }
header.top nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header.top nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
header.top .who { margin-left: auto; color: var(--muted); font-size: .9rem; display: flex; gap: .75rem; align-items: center; }
main { padding: 1rem; max-width: 1600px; }
h1 { font-size: 1.4rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
form.settings { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: end; margin: .5rem 0 1rem; padding: .75rem; border: 1px solid var(--line); border-radius: 6px; }
form.settings fieldset { border: 1px solid var(--line); border-radius: 6px; display: flex; flex-wrap: wrap; gap: .5rem; margin: 0; padding: .25rem .5rem .5rem; }
input[type="number"] { width: 4.5rem; }
label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .15rem; }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid #8c959f; border-radius: 4px; background: #fff; color: var(--fg); }
button { cursor: pointer; background: #f6f8fa; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button[aria-pressed="true"] { background: var(--fg); color: #fff; }
button.link { border: none; background: none; color: var(--accent); text-decoration: underline; padding: 0; }
.item { display: flex; gap: 1rem; align-items: flex-start; }
.item img, .thumb { width: 160px; height: 160px; object-fit: contain; border: 1px solid var(--line); border-radius: 6px; background: #fafafa; }
td img, td .thumb { width: 64px; height: 64px; }
table.compact td img, table.compact td .thumb { width: 48px; height: 48px; }
table.compact { font-size: .85rem; }
table.compact th, table.compact td { padding: .3rem .3rem; }
.columns > section { min-width: 0; overflow-x: auto; }
table.compact th[scope="row"] { min-width: 9rem; }
th[scope="row"] { font-weight: normal; }
.thumb { display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: .75rem; }
.tags { display: flex; flex-wrap: wrap; gap: .25rem; list-style: none; padding: 0; margin: .25rem 0; }
.tags li { border: 1px solid var(--line); border-radius: 999px; padding: 0 .5rem; font-size: .8rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .25rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
th[scope="col"] { background: #f6f8fa; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.desc { color: var(--muted); font-size: .8rem; }
td .desc, th .desc { max-width: 40ch; }
.note { color: var(--muted); font-size: .9rem; max-width: 80ch; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
@media (max-width: 900px) { .columns { grid-template-columns: 1fr; } .item { flex-direction: column; } }
tr.both { background: var(--both); box-shadow: inset 4px 0 0 var(--both-line); }
tr.only { background: var(--only); box-shadow: inset 4px 0 0 var(--only-line); }
.badge { display: inline-block; font-size: .75rem; border-radius: 4px; padding: 0 .35rem; border: 1px solid; white-space: nowrap; }
.badge.both { color: var(--both-line); }
.badge.only { color: var(--only-line); }
.badge.good { color: var(--both-line); }
.badge.bad { color: var(--bad); }
form.mark { display: flex; gap: .25rem; margin-top: .25rem; }
.notice { border-left: 4px solid var(--only-line); background: var(--only); padding: .5rem .75rem; }
.error { border-left: 4px solid var(--bad); background: #fdecea; padding: .5rem .75rem; }
pre, code { font-family: ui-monospace, monospace; font-size: .85rem; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; border-radius: 4px; }
figure { margin: 0; }
svg.chart { max-width: 100%; height: auto; }
svg text { font-size: 11px; fill: var(--muted); }
.login { max-width: 34rem; }
.login form { display: flex; flex-direction: column; gap: .75rem; }
`;

/** The stylesheet's URL, with a digest of its content so a new version is never read from a stale cache. */
export const CONSOLE_CSS_PATH = `/ui/assets/console.css?v=${createHash('sha256').update(CONSOLE_CSS).digest('hex').slice(0, 10)}`;
