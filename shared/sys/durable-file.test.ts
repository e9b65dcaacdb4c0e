import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fsyncDirectory, writeFileSynced } from "./durable-file.js";

describe("durable-file", () => {
  const dir = mkdtempSync(join(tmpdir(), "durable-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("creates the file exclusively with the content and mode", () => {
    const p = join(dir, "a");
    writeFileSynced(p, "10.0.0.2", 0o600);
    expect(readFileSync(p, "utf8")).toBe("10.0.0.2");
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(() => writeFileSynced(p, "other", 0o600)).toThrowError(/EEXIST/);
    expect(readFileSync(p, "utf8")).toBe("10.0.0.2");
  });

  it("fsyncs a directory and refuses a file", () => {
    expect(() => fsyncDirectory(dir)).not.toThrow();
    writeFileSync(join(dir, "f"), "");
    expect(() => fsyncDirectory(join(dir, "f"))).toThrowError(/ENOTDIR/);
  });
});
