import { describe, expect, it } from "vitest";
import { threadsCpuMs, unservedReason } from "./resident.js";
import type { TraceRecord } from "./trace-log.js";

const record = (plugin: string, pid: number, resident: boolean): TraceRecord => ({
  plugin,
  verb: "ADD",
  ms: {},
  processes: [],
  netlink: [],
  pid,
  resident,
});

describe("unservedReason", () => {
  it("accepts a call only when every trace line is the service's, marked resident", () => {
    expect(unservedReason([record("flannel", 7, true), record("portmap", 7, true)], 7)).toBeUndefined();
    expect(unservedReason([], 7)).toBe("no trace record");
    expect(unservedReason([record("flannel", 7, true), record("portmap", 12, false)], 7)).toBe(
      "portmap ADD ran in pid 12",
    );
    // Another service (a stale one on the same socket path) does not count either.
    expect(unservedReason([record("flannel", 8, true)], 7)).toBe("flannel ADD ran in pid 8 (resident)");
  });
});

describe("threadsCpuMs", () => {
  it("reads a growing CPU time of this process's threads", () => {
    const before = threadsCpuMs(process.pid);
    let x = 0;
    for (let i = 0; i < 3e6; i++) x += i % 7;
    expect(x).toBeGreaterThan(0);
    expect(threadsCpuMs(process.pid)).toBeGreaterThan(before);
  });
});
