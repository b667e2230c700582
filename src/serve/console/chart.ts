/**
 * A small inline SVG chart of runs over time: items/s (solid line, left axis) and failure rate
 * (dashed line, right axis). Hand-written: two polylines and their points need no chart library, and
 * inline SVG needs no script. Its <title> and <desc> give a screen reader what the lines show, each
 * point has a <title> with its numbers, and the runs table below is the full data.
 */
import { type Html, html } from './html.js';

export interface ChartPoint {
  at: Date;
  itemsPerSecond: number | null;
  failureRate: number | null;
  /** Names the run in a point's tooltip. */
  label: string;
}

const W = 720;
const H = 220;
const PAD = { left: 60, right: 60, top: 20, bottom: 40 };

const round = (x: number) => Math.round(x * 10) / 10;
const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`;
const day = (d: Date) => d.toISOString().slice(0, 16).replace('T', ' ');

/** The chart, or null when fewer than one run has a figure to plot. */
export function runsChart(points: ChartPoint[]): Html | null {
  const sorted = [...points].sort((a, b) => a.at.getTime() - b.at.getTime());
  const ips = sorted.filter((p) => p.itemsPerSecond !== null);
  const fr = sorted.filter((p) => p.failureRate !== null);
  if (ips.length === 0 && fr.length === 0) return null;
  const t0 = sorted[0]!.at.getTime();
  const t1 = sorted[sorted.length - 1]!.at.getTime();
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (p: ChartPoint) => round(PAD.left + (t1 === t0 ? plotW / 2 : ((p.at.getTime() - t0) / (t1 - t0)) * plotW));
  const maxIps = Math.max(1, ...ips.map((p) => p.itemsPerSecond!)) * 1.1;
  const maxFr = Math.max(0.05, ...fr.map((p) => p.failureRate!)) * 1.1;
  const yIps = (v: number) => round(PAD.top + plotH - (v / maxIps) * plotH);
  const yFr = (v: number) => round(PAD.top + plotH - (v / maxFr) * plotH);
  const line = (pts: ChartPoint[], y: (p: ChartPoint) => number) => pts.map((p) => `${x(p)},${y(p)}`).join(' ');
  const last = <T>(xs: T[]) => xs[xs.length - 1];
  const range = (xs: number[], f: (v: number) => string) => (xs.length ? `from ${f(Math.min(...xs))} to ${f(Math.max(...xs))}` : 'not recorded');
  const desc =
    `${sorted.length} runs from ${day(sorted[0]!.at)} to ${day(last(sorted)!.at)} UTC. ` +
    `Items per second ${range(
      ips.map((p) => p.itemsPerSecond!),
      (v) => String(round(v)),
    )}${ips.length ? `, latest ${round(last(ips)!.itemsPerSecond!)}` : ''}. ` +
    `Failure rate ${range(
      fr.map((p) => p.failureRate!),
      pct,
    )}${fr.length ? `, latest ${pct(last(fr)!.failureRate!)}` : ''}.`;
  const bottom = PAD.top + plotH;
  return html`<figure>
<svg class="chart" role="img" aria-labelledby="runs-chart-title runs-chart-desc" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">
<title id="runs-chart-title">Items per second and failure rate of recent runs over time</title>
<desc id="runs-chart-desc">${desc}</desc>
<line x1="${PAD.left}" y1="${bottom}" x2="${W - PAD.right}" y2="${bottom}" stroke="#8c959f"/>
<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${bottom}" stroke="#0b5cad"/>
<line x1="${W - PAD.right}" y1="${PAD.top}" x2="${W - PAD.right}" y2="${bottom}" stroke="#b42318"/>
<text x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${round(maxIps)}</text>
<text x="${PAD.left - 6}" y="${bottom}" text-anchor="end">0</text>
<text x="${PAD.left - 6}" y="${PAD.top - 8}" text-anchor="end">items/s</text>
<text x="${W - PAD.right + 6}" y="${PAD.top + 4}">${pct(maxFr)}</text>
<text x="${W - PAD.right + 6}" y="${bottom}">0%</text>
<text x="${W - PAD.right + 6}" y="${PAD.top - 8}">failures</text>
<text x="${PAD.left}" y="${H - 12}">${day(sorted[0]!.at)}</text>
<text x="${W - PAD.right}" y="${H - 12}" text-anchor="end">${day(last(sorted)!.at)} UTC</text>
${ips.length > 1 ? html`<polyline fill="none" stroke="#0b5cad" stroke-width="2" points="${line(ips, (p) => yIps(p.itemsPerSecond!))}"/>` : ''}
${fr.length > 1 ? html`<polyline fill="none" stroke="#b42318" stroke-width="2" stroke-dasharray="6 4" points="${line(fr, (p) => yFr(p.failureRate!))}"/>` : ''}
${ips.map(
  (p) =>
    html`<circle cx="${x(p)}" cy="${yIps(p.itemsPerSecond!)}" r="4" fill="#0b5cad"><title>${p.label}: ${round(p.itemsPerSecond!)} items/s</title></circle>`,
)}
${fr.map(
  (p) =>
    html`<rect x="${x(p) - 3.5}" y="${yFr(p.failureRate!) - 3.5}" width="7" height="7" fill="#b42318"><title>${p.label}: failure rate ${pct(p.failureRate!)}</title></rect>`,
)}
</svg>
<figcaption>Solid blue line and dots: items per second (left axis). Dashed red line and squares: failure rate (right axis).</figcaption>
</figure>`;
}
