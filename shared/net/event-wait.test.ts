import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { subscribed, waitForEvent } from "./event-wait.js";

const root = process.getuid?.() === 0;
const hasIp = spawnSync("ip", ["-V"]).status === 0;

/** Multicast groups of the NETLINK_ROUTE socket of the `ip monitor` running in netns `nsPath`. */
function monitorGroups(nsPath: string): string | undefined {
  const nsId = `net:[${statSync(nsPath).ino}]`;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("monitor")) continue;
      if (readlinkSync(`/proc/${pid}/ns/net`) !== nsId) continue;
      const row = readFileSync(`/proc/${pid}/net/netlink`, "utf8")
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .find((f) => f[1] === "0" && f[2] === pid);
      return row?.[3] ?? "none";
    } catch {
      // a process that went away while we looked
    }
  }
  return undefined;
}

describe.runIf(root && hasIp)("waitForEvent (needs root: makes a network namespace)", () => {
  it("checks readiness only once the monitor has joined the multicast groups, so no event is missed", async () => {
    const ns = `cts-wait-${process.pid}-${Date.now().toString(36)}`;
    const nsPath = `/var/run/netns/${ns}`;
    spawnSync("ip", ["netns", "add", ns]);
    try {
      let groupsAtFirstCheck: string | undefined;
      let calls = 0;
      const started = performance.now();
      const ok = await waitForEvent(
        ["link"],
        () => {
          calls++;
          if (calls === 1) {
            groupsAtFirstCheck = monitorGroups(nsPath);
            spawnSync("ip", ["-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
            return false;
          }
          return spawnSync("ip", ["-n", ns, "link", "show", "d0"]).status === 0;
        },
        { netns: nsPath, timeoutMs: 3000 },
      );
      expect(groupsAtFirstCheck).toBeDefined();
      expect(groupsAtFirstCheck).not.toBe("none");
      expect(groupsAtFirstCheck).not.toBe("00000000");
      expect(ok).toBe(true);
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      spawnSync("ip", ["netns", "del", ns]);
    }
  });

  it("subscribed() waits for a process that holds no netlink subscription, and returns once ip monitor holds one", async () => {
    const idle = spawn("sleep", ["5"]);
    const monitor = spawn("ip", ["-o", "monitor", "link"], { stdio: "ignore" });
    try {
      let t = performance.now();
      await subscribed(idle.pid, 300);
      expect(performance.now() - t).toBeGreaterThanOrEqual(290);
      t = performance.now();
      await subscribed(monitor.pid, 3000);
      expect(performance.now() - t).toBeLessThan(1000);
      const row = readFileSync(`/proc/${monitor.pid}/net/netlink`, "utf8")
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .find((f) => f[1] === "0" && f[2] === String(monitor.pid));
      expect(row?.[3]).not.toBe("00000000");
    } finally {
      idle.kill();
      monitor.kill();
    }
  });
});
