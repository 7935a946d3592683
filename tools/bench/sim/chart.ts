/**
 * A dependency-free SVG line chart: p99 wait against load, one line per contender, one panel per
 * scenario, log scale. Pure (returns the SVG text); tools/bench/policy.ts writes it to docs/.
 */

export interface Series {
  readonly name: string;
  /** [load, p99 seconds]; points with a value <= 0 are left out (log scale). */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
}

const COLORS = ['#222222', '#1f77b4', '#d62728', '#ff7f0e', '#7f7f7f', '#2ca02c', '#9467bd'];
const DASHES = ['', '', '6 3', '2 3', '8 3 2 3', '4 2', '1 2'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (n: number) => (Math.round(n * 10) / 10).toString();

/** Tick values 1, 2, 5 x 10^k covering [lo, hi]. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

export function lineChart(title: string, subtitle: string, panels: readonly Panel[], names: readonly string[]): string {
  const panelWidth = 330;
  const panelHeight = 300;
  const margin = { left: 58, right: 16, top: 84, bottom: 96 };
  const gap = 24;
  const width = margin.left + panels.length * panelWidth + (panels.length - 1) * gap + margin.right;
  const height = margin.top + panelHeight + margin.bottom;
  const values = panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([, v]) => v))).filter((v) => v > 0);
  const loads = [...new Set(panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([l]) => l))))].sort((a, b) => a - b);
  if (!values.length || !loads.length) throw new Error('chart: nothing to draw');
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const xMin = loads[0] as number;
  const xMax = loads.at(-1) as number;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin.left}" y="24" font-size="16" font-weight="bold">${escape(title)}</text>`,
    `<text x="${margin.left}" y="44" fill="#444444">${escape(subtitle)}</text>`,
  ];
  panels.forEach((panel, p) => {
    const left = margin.left + p * (panelWidth + gap);
    const x = (load: number) => left + (xMax > xMin ? ((load - xMin) / (xMax - xMin)) * panelWidth : panelWidth / 2);
    const y = (v: number) => margin.top + panelHeight - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * panelHeight;
    out.push(`<g>`);
    out.push(`<rect x="${left}" y="${margin.top}" width="${panelWidth}" height="${panelHeight}" fill="none" stroke="#999999"/>`);
    for (const t of logTicks(yMin, yMax)) {
      out.push(`<line x1="${left}" x2="${left + panelWidth}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#e6e6e6"/>`);
      if (p === 0) out.push(`<text x="${left - 6}" y="${num(y(t) + 4)}" text-anchor="end">${t}</text>`);
    }
    for (const l of loads) {
      out.push(`<line x1="${num(x(l))}" x2="${num(x(l))}" y1="${margin.top + panelHeight}" y2="${margin.top + panelHeight + 5}" stroke="#999999"/>`);
      out.push(`<text x="${num(x(l))}" y="${margin.top + panelHeight + 18}" text-anchor="middle">${Math.round(l * 100)}%</text>`);
    }
    out.push(`<text x="${left + panelWidth / 2}" y="${margin.top - 8}" text-anchor="middle" font-weight="bold">${escape(panel.title)}</text>`);
    out.push(`<text x="${left + panelWidth / 2}" y="${margin.top + panelHeight + 36}" text-anchor="middle" fill="#444444">load (share of real capacity)</text>`);
    for (const s of panel.series) {
      const k = Math.max(0, names.indexOf(s.name));
      const pts = s.points.filter(([, v]) => v > 0);
      if (!pts.length) continue;
      const color = COLORS[k % COLORS.length] as string;
      const dash = DASHES[k % DASHES.length] as string;
      const width = s.name === 'least-wait' ? 2.5 : 1.5;
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.map(([l, v]) => `${num(x(l))},${num(y(v))}`).join(' ')}"/>`,
      );
      for (const [l, v] of pts) out.push(`<circle cx="${num(x(l))}" cy="${num(y(v))}" r="2.5" fill="${color}"/>`);
    }
    out.push(`</g>`);
  });
  out.push(
    `<text transform="translate(16 ${margin.top + panelHeight / 2}) rotate(-90)" text-anchor="middle" fill="#444444">p99 wait, seconds (log scale)</text>`,
  );
  const legendY = margin.top + panelHeight + 62;
  names.forEach((name, k) => {
    const lx = margin.left + k * 150;
    const color = COLORS[k % COLORS.length] as string;
    const dash = DASHES[k % DASHES.length] as string;
    out.push(`<line x1="${lx}" x2="${lx + 28}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(`<text x="${lx + 34}" y="${legendY + 4}">${escape(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
