import { describe, expect, it } from "vitest";
import { pluginStdin } from "./direct.js";

describe("pluginStdin", () => {
  const list = { cniVersion: "1.1.0", name: "n1", plugins: [] };

  it("injects name, cniVersion, prevResult and runtimeConfig for declared capabilities only, keys sorted like Go", () => {
    const conf = pluginStdin(
      list,
      { type: "x", capabilities: { mac: true, ips: false }, zeta: 1 },
      { cniVersion: "1.1.0" },
      { mac: "m", ips: ["1.2.3.4"], portMappings: [] },
    );
    expect(conf).toEqual({
      capabilities: { mac: true, ips: false },
      cniVersion: "1.1.0",
      name: "n1",
      prevResult: { cniVersion: "1.1.0" },
      runtimeConfig: { mac: "m" },
      type: "x",
      zeta: 1,
    });
    expect(Object.keys(conf)).toEqual([
      "capabilities",
      "cniVersion",
      "name",
      "prevResult",
      "runtimeConfig",
      "type",
      "zeta",
    ]);
  });

  it("overrides a plugin's own name/cniVersion and omits empty runtimeConfig and missing prevResult", () => {
    expect(pluginStdin(list, { type: "x", name: "other", cniVersion: "0.3.1" }, undefined, { mac: "m" })).toEqual({
      cniVersion: "1.1.0",
      name: "n1",
      type: "x",
    });
  });
});
