/**
 * Locking: many ADDs at once (ours alone, and ours racing Debian's Go host-local on one
 * dataDir) never hand out an address twice; ours waits on the very flock the Go plugin uses.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ipsOf, storeFiles, useIpamSandbox } from "./lib/suites/host-local.js";
import type { Impl } from "./lib/paths.js";

const sandbox = useIpamSandbox();

const conf = (dataDir: string, cniVersion = "0.4.0") => ({
  cniVersion,
  name: "race",
  ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.88.0.0/24" }], [{ subnet: "fd88::/120" }]] },
});

/** Every address appears once in the results, and each file names the container that got it. */
function expectDistinctAndRecorded(dataDir: string, got: Array<{ cid: string; ips: string[] }>, expected: number) {
  const all = got.flatMap((g) => g.ips);
  expect(all.length).toBe(expected * 2);
  expect(new Set(all).size).toBe(all.length);
  const files = storeFiles(join(dataDir, "race"));
  for (const g of got) {
    for (const ip of g.ips) expect(files[ip.split("/")[0]!]).toBe(`${g.cid}\r\neth0`);
  }
  expect(Object.keys(files).filter((n) => /^[0-9a-f.:]+$/.test(n) && n.includes(".") !== n.includes(":")).length).toBe(
    expected * 2,
  );
}

describe("host-local concurrency", () => {
  it("50 concurrent ADDs of ours give 50 distinct addresses", async () => {
    const dataDir = sandbox().dataDir("ours50");
    const ids = Array.from({ length: 50 }, (_, i) => `para${i}`);
    const outs = await Promise.all(ids.map((cid) => sandbox().run("ours", "ADD", conf(dataDir), { containerId: cid })));
    expectDistinctAndRecorded(
      dataDir,
      ids.map((cid, i) => ({ cid, ips: ipsOf(outs[i]!) })),
      50,
    );
  });

  it("ours and the Go host-local allocating concurrently in one dataDir never collide", async () => {
    for (let round = 0; round < 3; round++) {
      const dataDir = sandbox().dataDir(`mixed${round}`);
      const jobs = Array.from({ length: 40 }, (_, i) => ({
        cid: `mix${round}-${i}`,
        impl: (i % 2 ? "ours" : "reference") as Impl,
      }));
      const outs = await Promise.all(
        jobs.map((j) => sandbox().run(j.impl, "ADD", conf(dataDir), { containerId: j.cid })),
      );
      expectDistinctAndRecorded(
        dataDir,
        jobs.map((j, i) => ({ cid: j.cid, ips: ipsOf(outs[i]!) })),
        40,
      );
      // Concurrent DELs by both leave only the bookkeeping files.
      const dels = await Promise.all(
        jobs.map((j, i) => sandbox().run(i % 3 ? "ours" : "reference", "DEL", conf(dataDir), { containerId: j.cid })),
      );
      for (const d of dels) expect(d.status).toBe(0);
      expect(Object.keys(storeFiles(join(dataDir, "race")))).toEqual([
        "last_reserved_ip.0",
        "last_reserved_ip.1",
        "lock",
      ]);
    }
  });

  it("waits on the lock file the Go plugin locks (flock on <dataDir>/<name>/lock)", async () => {
    const dataDir = sandbox().dataDir("locked");
    const dir = join(dataDir, "race");
    mkdirSync(dir, { recursive: true });
    // flock(1) takes the same flock(2) lock go-filemutex takes; it holds it until we write a line.
    const holder = spawn("flock", [join(dir, "lock"), "sh", "-c", "echo held; read line"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    const add = sandbox().run("ours", "ADD", conf(dataDir), { containerId: "waiter" });
    await waitForBlockedLock(dir);
    expect(Object.keys(storeFiles(dir))).toEqual(["lock"]);
    holder.stdin.end("go\n");
    expect(ipsOf(await add)).toEqual(["10.88.0.2/24", "fd88::2/120"]);
  });
});

/** Waits until /proc/locks shows a process blocked on the store's lock file (an event, bounded). */
async function waitForBlockedLock(dir: string): Promise<void> {
  const { statSync } = await import("node:fs");
  const ino = statSync(join(dir, "lock")).ino;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const blocked = readFileSync("/proc/locks", "utf8")
      .split("\n")
      .some((l) => l.includes("->") && l.includes("FLOCK") && l.split(/\s+/).some((f) => f.endsWith(`:${ino}`)));
    if (blocked) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error("our host-local never blocked on the held lock: it does not use the Go plugin's lock");
}
