import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILD_FLAGS } from "./timer.js";

describe("bench probes are compiled like the shipped executable", () => {
  it("uses exactly the compiler flags of scripts/build.mjs", () => {
    const build = readFileSync(join(__dirname, "..", "build.mjs"), "utf8");
    const shipped = [...build.matchAll(/"(--[a-z-]+(?:=[^"]*)?)"/g)]
      .map((m) => m[1]!)
      .filter((f) => f !== "--define" && f !== "--outfile" && f !== "--test-hooks");
    expect([...BUILD_FLAGS].sort()).toEqual([...new Set(shipped)].sort());
  });
});
