/**
 * The bench's plot as a self-contained SVG: a grid of small panels with log-scaled axes, one line per
 * series, a legend, and dashed horizontal goal lines. No plotting dependency: every coordinate is
 * computed here.
 */

/** One line of points; missing points break nothing (the line joins the points that exist). */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { x: number; y: number }[];
  readonly dashed?: boolean;
}

/** One panel. */
export interface Panel {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Horizontal reference lines, e.g. the goals of the ratio panels. */
  readonly guides?: readonly { y: number; label: string }[];
}

/** The figure: panels in rows of `columns`. */
export interface Figure {
  readonly title: string;
  readonly xLabel: string;
  readonly columns: number;
  readonly panels: readonly Panel[];
}

const PANEL_W = 300;
const PANEL_H = 220;
const MARGIN = { left: 62, right: 12, top: 28, bottom: 40 };
const HEADER = 40;
const LEGEND = 24;

/** Powers of ten covering [lo, hi] (lo, hi > 0). */
export function decades(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi > 0)) throw new Error(`log axis needs positive bounds, got ${lo} and ${hi}`);
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(e < 0 ? 1 / 10 ** -e : 10 ** e);
  return out;
}

/** A log scale from [lo, hi] (widened to whole decades) onto [from, to]. */
export function logScale(lo: number, hi: number, from: number, to: number): (v: number) => number {
  const ticks = decades(lo, hi);
  const a = Math.log10(ticks[0]!);
  const b = Math.log10(ticks[ticks.length - 1]!);
  const span = b - a || 1;
  return (v) => from + ((Math.log10(v) - a) / span) * (to - from);
}

/** Tick label: 0.001, 0.1, 1, 10, 100, 1k, 10k, 100k, 1M. */
export function tickLabel(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(Number(v.toPrecision(1)));
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const f = (v: number) => v.toFixed(1);

function panelSvg(panel: Panel, xLabel: string, ox: number, oy: number): string {
  const points = panel.series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const parts: string[] = [`<g transform="translate(${ox},${oy})">`];
  parts.push(`<text x="${PANEL_W / 2}" y="16" text-anchor="middle" font-weight="bold" font-size="${panel.title.length > 40 ? 9 : 11}">${escape(panel.title)}</text>`);
  const x0 = MARGIN.left;
  const x1 = PANEL_W - MARGIN.right;
  const y0 = PANEL_H - MARGIN.bottom;
  const y1 = MARGIN.top;
  parts.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#888"/>`);
  if (points.length === 0) {
    parts.push(`<text x="${(x0 + x1) / 2}" y="${(y0 + y1) / 2}" text-anchor="middle" fill="#888">no data</text></g>`);
    return parts.join("");
  }
  const guides = panel.guides ?? [];
  const ys = [...points.map((p) => p.y), ...guides.map((g) => g.y)];
  const xs = points.map((p) => p.x);
  const sx = logScale(Math.min(...xs), Math.max(...xs), x0, x1);
  const sy = logScale(Math.min(...ys), Math.max(...ys), y0, y1);
  for (const t of decades(Math.min(...xs), Math.max(...xs))) {
    parts.push(`<line x1="${f(sx(t))}" y1="${y0}" x2="${f(sx(t))}" y2="${y1}" stroke="#eee"/>`);
    parts.push(`<text x="${f(sx(t))}" y="${y0 + 14}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const t of decades(Math.min(...ys), Math.max(...ys))) {
    parts.push(`<line x1="${x0}" y1="${f(sy(t))}" x2="${x1}" y2="${f(sy(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 4}" y="${f(sy(t) + 4)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  for (const g of guides) {
    parts.push(`<line x1="${x0}" y1="${f(sy(g.y))}" x2="${x1}" y2="${f(sy(g.y))}" stroke="#c00" stroke-dasharray="2,3"/>`);
    parts.push(`<text x="${x1 - 2}" y="${f(sy(g.y) - 3)}" text-anchor="end" fill="#c00">${escape(g.label)}</text>`);
  }
  for (const s of panel.series) {
    const pts = s.points.filter((p) => p.x > 0 && p.y > 0).sort((a, b) => a.x - b.x);
    if (pts.length === 0) continue;
    const dash = s.dashed ? ` stroke-dasharray="5,4"` : "";
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.8"${dash} points="${pts.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(" ")}"/>`);
    for (const p of pts) parts.push(`<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="2.5" fill="${s.color}"/>`);
  }
  parts.push(`<text x="${(x0 + x1) / 2}" y="${PANEL_H - 8}" text-anchor="middle">${escape(xLabel)}</text>`);
  parts.push(`<text transform="translate(12,${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">${escape(panel.yLabel)}</text>`);
  parts.push("</g>");
  return parts.join("");
}

/** The figure as an SVG document. */
export function renderFigure(figure: Figure): string {
  const rows = Math.ceil(figure.panels.length / figure.columns);
  const width = figure.columns * PANEL_W;
  const legend = new Map<string, Series>();
  for (const p of figure.panels) for (const s of p.series) if (!legend.has(s.name)) legend.set(s.name, s);
  // Legend entries flow left to right and wrap at the figure's width.
  const entries: { series: Series; x: number; row: number }[] = [];
  let lx = 16;
  let row = 0;
  for (const series of legend.values()) {
    const w = 34 + series.name.length * 6.5;
    if (lx + w > width && lx > 16) {
      lx = 16;
      row += 1;
    }
    entries.push({ series, x: lx, row });
    lx += w;
  }
  const legendHeight = LEGEND * (row + 1);
  const height = HEADER + legendHeight + rows * PANEL_H;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escape(figure.title)}</text>`,
  ];
  for (const { series, x, row: r } of entries) {
    const y = HEADER + 8 + r * LEGEND;
    const dash = series.dashed ? ` stroke-dasharray="5,4"` : "";
    parts.push(`<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${series.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${x + 26}" y="${y + 4}">${escape(series.name)}</text>`);
  }
  figure.panels.forEach((panel, i) => {
    const ox = (i % figure.columns) * PANEL_W;
    const oy = HEADER + legendHeight + Math.floor(i / figure.columns) * PANEL_H;
    parts.push(panelSvg(panel, figure.xLabel, ox, oy));
  });
  parts.push("</svg>", "");
  return parts.join("\n");
}
