import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addReclaimed, readReclaimedCount, reclaimedCountPath } from "./reclaimed-count.js";

describe("the reclaimed-addresses counter", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), "reclaimed-"));
    dirs.push(d);
    return d;
  };

  it("adds up per network beside the stores, never inside one", () => {
    const data = dataDir();
    const store = join(data, "cbr0");
    mkdirSync(store);
    expect(readReclaimedCount(store)).toBe(0);
    addReclaimed(store, 2);
    addReclaimed(store, 0);
    addReclaimed(store, 3);
    expect(readReclaimedCount(store)).toBe(5);
    expect(readReclaimedCount(join(data, "other"))).toBe(0);
    expect(readdirSync(store)).toEqual([]);
    expect(reclaimedCountPath(store)).toBe(join(data, ".cni-ts-reclaimed", "cbr0"));
  });

  it("reads a damaged file as zero and starts again from there", () => {
    const store = join(dataDir(), "cbr0");
    addReclaimed(store, 1);
    writeFileSync(reclaimedCountPath(store), "garbage");
    expect(readReclaimedCount(store)).toBe(0);
    addReclaimed(store, 4);
    expect(readReclaimedCount(store)).toBe(4);
  });
});
