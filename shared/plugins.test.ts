import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PLUGIN_NAMES, isPluginName } from "./plugins.js";

describe("the plugin list", () => {
  it("is the JSON file every tool reads, and the entry point has a loader for each name", () => {
    const main = readFileSync(new URL("./plugin-loader.ts", import.meta.url), "utf8");
    const loaders = [...main.matchAll(/case "([a-z-]+)":/g)].map((m) => m[1]);
    expect([...loaders].sort()).toEqual([...PLUGIN_NAMES].sort());
    expect(isPluginName("bridge")).toBe(true);
    expect(isPluginName("cni-ts")).toBe(false);
  });
});
