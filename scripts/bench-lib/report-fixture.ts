/** A synthetic bench run for the report and chart tests. */
import { type Measurements, type Sample, type SideId, emptyMeasurements } from "./measure.js";
import type { Meta } from "./report.js";

export const meta: Meta = { date: "d", command: "c", host: "h", reference: "r", ours: "o", notes: [] };
const samples = (ms: number, n = 3): Sample[] =>
  Array.from({ length: n }, () => ({ ms, cpuMs: ms / 2, ok: true, rssKb: 30_000 }));

/** Reference 20 ms, ours 40 ms, resident 25 ms for every verb; no-op pairs Go 10, Bun 20. */
export function measured(resident: boolean): Measurements {
  const m = emptyMeasurements();
  const sides: SideId[] = resident ? ["reference", "ours", "resident"] : ["reference", "ours"];
  const ms: Record<SideId, number> = { reference: 20, ours: 40, resident: 25 };
  for (const chain of ["bridge", "flannel"] as const)
    for (const verb of ["VERSION", "ADD", "CHECK", "DEL"] as const)
      for (const side of sides) m.sequential[chain][verb][side] = samples(ms[side]);
  m.noop = { go: { add: samples(10), del: samples(10) }, bun: { add: samples(20), del: samples(20) } };
  for (const side of sides) {
    const runs = [
      { wallMs: 10 * ms[side], ok: 20, n: 20, ...(side === "resident" ? { unserved: 0, pluginCalls: 40 } : {}) },
    ];
    (m.concurrent.flannel[20] ??= {})[side] = { add: runs, del: runs };
  }
  if (resident) m.resident = { pid: 7, peakRssKb: 60 * 1024, unserved: [] };
  return m;
}
