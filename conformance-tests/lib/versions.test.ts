import { describe, expect, it } from "vitest";
import { SPEC_VERSIONS, compareVersions, implSupports, verbExists, versionsFor, viaLibcni } from "./versions.js";

describe("version matrix", () => {
  it("runs 0.3.1 (kube-flannel), 0.4.0, 1.0.0 and 1.1.0", () => {
    expect(SPEC_VERSIONS).toEqual(["0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
  });

  it("knows where each verb exists", () => {
    expect(versionsFor("ADD", "DEL")).toEqual(["0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
    expect(versionsFor("CHECK")).toEqual(["0.4.0", "1.0.0", "1.1.0"]);
    expect(versionsFor("GC")).toEqual(["1.1.0"]);
    expect(versionsFor("STATUS", "CHECK")).toEqual(["1.1.0"]);
    expect(verbExists("0.3.1", "CHECK")).toBe(false);
  });

  it("drives up to 1.0.0 through Debian's libcni and has a reference twin only there", () => {
    expect(SPEC_VERSIONS.filter(viaLibcni)).toEqual(["0.3.1", "0.4.0", "1.0.0"]);
    expect(implSupports("reference", "1.1.0")).toBe(false);
    expect(implSupports("ours", "1.1.0")).toBe(true);
  });

  it("compares versions numerically", () => {
    expect(compareVersions("0.10.0", "0.4.0")).toBeGreaterThan(0);
    expect(compareVersions("1.0.0", "1.0.0")).toBe(0);
    expect(compareVersions("0.3.1", "0.4.0")).toBeLessThan(0);
  });
});
