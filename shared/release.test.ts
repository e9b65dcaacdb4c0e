import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RELEASE, RELEASE_MARKER, releaseIn } from "./release.js";

describe("release marker", () => {
  it("names package.json's version and is found by releaseIn", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { version: string };
    expect(RELEASE).toBe(pkg.version);
    expect(releaseIn(`junk\u0000${RELEASE_MARKER}junk`)).toBe(pkg.version);
    expect(releaseIn(String(/cni-ts-release=(\d+)/))).toBeUndefined();
  });
});
