import { spawn, spawnSync } from "node:child_process";
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { flockMechanism, lockExclusive, unlock } from "./flock.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "flock-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const tryLock = (path: string) => spawnSync("flock", ["-n", path, "true"]).status;

describe("flock", () => {
  it("uses flock(1) under Node", () => {
    expect(flockMechanism()).toBe("flock(1)");
  });

  it("holds the lock against other processes until the descriptor is closed", () => {
    const path = join(dir, "lock");
    const fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, 0o750);
    lockExclusive(fd);
    expect(tryLock(path)).toBe(1);
    unlock(fd);
    closeSync(fd);
    expect(tryLock(path)).toBe(0);
  });

  it("waits for a lock another process holds", async () => {
    const path = join(dir, "lock");
    const marker = join(dir, "released");
    // The holder keeps the lock for a moment, writes the marker, then exits (releasing it).
    const holder = spawn("flock", [path, "sh", "-c", `echo held; sleep 0.3; : > ${marker}`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    const fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, 0o750);
    try {
      expect(existsSync(marker)).toBe(false);
      lockExclusive(fd);
      expect(existsSync(marker)).toBe(true);
      expect(tryLock(path)).toBe(1);
    } finally {
      closeSync(fd);
    }
  });
});
