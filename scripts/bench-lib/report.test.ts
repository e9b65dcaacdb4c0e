import { describe, expect, it } from "vitest";
import { buildReport, renderText } from "./report.js";
import { measured, meta } from "./report-fixture.js";

describe("buildReport with the resident side", () => {
  it("judges every target for ours and for the resident side, each with its own verdict", () => {
    const r = buildReport(measured(true), meta);
    const add = r.targets.find((t) => t.name === "flannel chain ADD ratio")!;
    expect(add).toMatchObject({ value: "2.00", verdict: "missed", resident: { value: "1.25", verdict: "met" } });
    const conc = r.targets.find((t) => t.name.startsWith("flannel chain 20 concurrent"))!;
    expect(conc).toMatchObject({ verdict: "missed", resident: { value: "1.25", verdict: "met" } });
    // Both our sides start two Bun plugin processes: the same Bun floor is subtracted from each.
    expect(r.workBeyondFloor.add).toEqual({ reference: 10, ours: 20, resident: 5 });
    const beyond = r.targets.find((t) => t.name.startsWith("flannel chain ADD: our work beyond"))!;
    expect(beyond.resident).toEqual({ value: "resident 5.0 ms, reference 10.0 ms", verdict: "met" });
    expect(r.targets.every((t) => t.resident !== undefined)).toBe(true);
    expect(r.resident).toEqual({ pid: 7, peakRssMb: 60, unserved: [] });
    expect(r.sequential.bridge.ADD.residentRatio).toBe(1.25);
  });

  it("shows the resident columns only when the side was measured, and lists calls it did not serve", () => {
    const without = renderText(buildReport(measured(false), meta));
    expect(without).not.toContain("resident");
    expect(buildReport(measured(false), meta).targets.some((t) => t.resident)).toBe(false);
    const m = measured(true);
    m.resident!.unserved.push("flannel ADD (cnitool): flannel ADD ran in pid 9");
    m.concurrent.flannel[20]!.resident!.add = [{ wallMs: 300, ok: 20, n: 20, unserved: 3, pluginCalls: 40 }];
    const text = renderText(buildReport(m, meta));
    expect(text).toContain("resident verdict");
    expect(text).toContain("300.0 (1x all ok); served 37/40 plugin calls");
    expect(text).toContain(
      "Resident-side calls the service did not run:\n  flannel ADD (cnitool): flannel ADD ran in pid 9",
    );
  });
});
