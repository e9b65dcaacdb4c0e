/**
 * The README's picture of a bench run: per chain and verb, the reference's, our and (when measured)
 * the resident service's median wall time side by side (bars to scale, values and ratios written
 * out), and under them each side's work beyond its runtime floor (flannel chain minus a do-nothing
 * plugin pair). Plain SVG text, no dependency; the figures are the report's own.
 */
import { CHAINS } from "./chains.js";
import type { Report } from "./report.js";

const WIDTH = 760;
const LABEL = 200;
const RIGHT = 110;
const BAR = 13;
const COLORS = { reference: "#4e79a7", ours: "#f28e2b", resident: "#59a14f" } as const;
const LEGEND = { reference: "reference (Go)", ours: "ours (Bun)", resident: "ours, resident service" } as const;
type Bar = keyof typeof COLORS;

interface Row {
  label: string;
  reference: number | null;
  ours: number | null;
  resident?: number | null;
  note?: string;
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const ms = (v: number | null): string => (v == null ? "-" : `${v.toFixed(1)} ms`);

function rowsOf(r: Report): Row[] {
  const rows: Row[] = [];
  for (const chain of [...CHAINS].reverse()) {
    for (const verb of ["ADD", "CHECK", "DEL"] as const) {
      const s = r.sequential[chain][verb];
      rows.push({
        label: `${chain} ${verb}`,
        reference: s.reference.median,
        ours: s.ours.median,
        ...(s.resident ? { resident: s.resident.median } : {}),
        note: s.reference.failedOnly ? "reference fails: time to failure" : undefined,
      });
    }
  }
  for (const verb of ["add", "del"] as const) {
    const w = r.workBeyondFloor[verb];
    rows.push({
      label: `flannel ${verb.toUpperCase()} beyond the floor`,
      reference: w.reference,
      ours: w.ours,
      ...(w.resident !== undefined ? { resident: w.resident } : {}),
    });
  }
  return rows;
}

export function renderChart(r: Report): string {
  const rows = rowsOf(r);
  const bars: Bar[] = rows.some((x) => x.resident !== undefined)
    ? ["reference", "ours", "resident"]
    : ["reference", "ours"];
  const rowHeight = bars.length * BAR + 14;
  const max = Math.max(1, ...rows.flatMap((x) => bars.map((b) => x[b] ?? 0)));
  const scale = (WIDTH - LABEL - RIGHT) / max;
  const top = 72;
  const height = top + rows.length * rowHeight + 24;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">cni-ts vs the Go plugins: median wall time per call</text>`,
    `<text x="10" y="38" fill="#555">${esc(r.meta.date)}; ratio = ours / reference (lower is better); "beyond the floor": minus a do-nothing plugin pair</text>`,
  ];
  // Legend on its own line under the subtitle: one swatch and name per side drawn.
  let x = 10;
  for (const b of bars) {
    out.push(
      `<rect x="${x}" y="46" width="10" height="10" fill="${COLORS[b]}"/><text x="${x + 15}" y="55">${esc(LEGEND[b])}</text>`,
    );
    x += Math.round(LEGEND[b].length * 6.5 + 35);
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    out.push(`<text x="${LABEL - 8}" y="${y + BAR + 4}" text-anchor="end">${esc(row.label)}</text>`);
    bars.forEach((side, j) => {
      const v = row[side] ?? null;
      const by = y + j * BAR;
      const w = v == null ? 0 : Math.max(1, Math.max(0, v) * scale);
      out.push(`<rect x="${LABEL}" y="${by}" width="${w.toFixed(1)}" height="${BAR - 2}" fill="${COLORS[side]}"/>`);
      out.push(
        `<text x="${(LABEL + w + 4).toFixed(1)}" y="${by + BAR - 3}" font-size="11">${ms(v)}${side === "reference" && row.note ? ` (${esc(row.note)})` : ""}</text>`,
      );
    });
    // Each of our bars' ratio to the reference, level with the bar.
    bars.slice(1).forEach((side, j) => {
      const v = row[side];
      if (!row.reference || row.reference <= 0 || v == null) return;
      out.push(
        `<text x="${WIDTH - 10}" y="${y + (j + 1) * BAR + BAR - 3}" text-anchor="end" font-weight="bold" fill="${COLORS[side]}">x${(v / row.reference).toFixed(2)}</text>`,
      );
    });
  });
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}
