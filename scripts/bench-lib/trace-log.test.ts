import { describe, expect, it } from "vitest";
import { formatBreakdown, inProcessMs, parseTraceLog, processesPerCall } from "./trace-log.js";

const flannel = {
  plugin: "flannel",
  verb: "ADD",
  ms: { startup: 10, parse: 0.3, "host-local.ADD": 5, total: 30 },
  processes: [
    { cmd: "ip -batch - (6 lines)", ms: 3, status: 0 },
    { cmd: "ip -j -batch - (5 lines) in /var/run/netns/p", ms: 2.5, status: 0 },
  ],
  netlink: [
    { cmd: "ip link set cni0 up", ms: 0.25, status: 0 },
    { cmd: "nsenter --net=/var/run/netns/p -- ip addr add 10.0.0.2/24 dev eth0", ms: 0.5, status: 0 },
  ],
  maxRssKb: 37000,
};
const portmap = { plugin: "portmap", verb: "ADD", ms: { startup: 11, total: 13 }, processes: [], maxRssKb: 34000 };

describe("debug trace log", () => {
  it("reads one record per plugin process and skips torn lines", () => {
    const text = `${JSON.stringify(flannel)}\n{"plugin":"portm\n${JSON.stringify(portmap)}\n`;
    const records = parseTraceLog(text);
    expect(records.map((r) => r.plugin)).toEqual(["flannel", "portmap"]);
    expect(records[0]!.processes).toHaveLength(2);
  });

  it("reads the resident service's mark and the writing pid", () => {
    const served = { ...portmap, pid: 4242, resident: true };
    const records = parseTraceLog(`${JSON.stringify(served)}\n${JSON.stringify({ ...flannel, pid: 77 })}\n`);
    expect(records.map((r) => [r.pid, r.resident])).toEqual([
      [4242, true],
      [77, false],
    ]);
  });

  it("counts plugin processes plus the processes they started", () => {
    const records = parseTraceLog([flannel, portmap].map((r) => JSON.stringify(r)).join("\n"));
    expect(processesPerCall(records)).toEqual({ plugins: 2, children: 2, total: 4 });
    expect(inProcessMs(records)).toBe(43);
  });

  it("splits a call's wall time into our code and everything outside it", () => {
    const text = formatBreakdown(parseTraceLog(JSON.stringify(flannel)), 40, "t");
    expect(text).toContain("processes started: 2 (5.50 ms waiting for them)");
    expect(text).toContain("wall 40.00 ms = 30.00 ms in our code + 10.00 ms outside it");
    expect(text).toContain("netlink requests: 2 (0.75 ms in the kernel)");
    expect(text).toContain("0.50 ms  nsenter --net=/var/run/netns/p -- ip addr add 10.0.0.2/24 dev eth0");
  });
});
