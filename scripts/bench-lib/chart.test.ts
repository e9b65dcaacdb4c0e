import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderChart } from "./chart.js";
import { type Report, buildReport } from "./report.js";
import { measured, meta } from "./report-fixture.js";

describe("renderChart", () => {
  it("draws each chain and verb side by side, to scale, with values and ratios, from a saved report", () => {
    const saved = JSON.parse(readFileSync(join(__dirname, "../../docs/bench-latest.json"), "utf8")) as Report;
    const report: Report = {
      ...saved,
      workBeyondFloor: { add: { reference: 11.7, ours: 34.3 }, del: { reference: 20.3, ours: 44.9 } },
    };
    const svg = renderChart(report);
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    const fl = report.sequential.flannel.ADD;
    expect(svg).toContain(`${fl.reference.median!.toFixed(1)} ms`);
    expect(svg).toContain(`x${(fl.ours.median! / fl.reference.median!).toFixed(2)}`);
    expect(svg).toContain("flannel ADD beyond the floor");
    expect(svg).toContain("34.3 ms");
    // Bars to scale: our flannel ADD bar is longer than the reference's by the ratio.
    const widths = [...svg.matchAll(/<rect x="200" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    // Eight rows, a bar per side the saved run measured (reference, ours, and the resident service).
    expect(widths.length).toBe(8 * (fl.resident ? 3 : 2));
    expect(widths[1]! / widths[0]!).toBeCloseTo(fl.ours.median! / fl.reference.median!, 1);
  });
});

describe("renderChart with the resident side", () => {
  it("draws a third bar per row with its own ratio and legend, and two when the side was not measured", () => {
    const svg = renderChart(buildReport(measured(true), meta));
    const widths = [...svg.matchAll(/<rect x="200" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths.length).toBe(8 * 3);
    // Rows: reference 20, ours 40, resident 25 ms.
    expect(widths[2]! / widths[0]!).toBeCloseTo(25 / 20, 2);
    expect(svg).toContain("ours, resident service");
    expect(svg).toContain(">x1.25<");
    expect(svg).toContain(">x2.00<");
    const two = renderChart(buildReport(measured(false), meta));
    expect([...two.matchAll(/<rect x="200" y="\d+"/g)].length).toBe(8 * 2);
    expect(two).not.toContain("resident");
  });
});
