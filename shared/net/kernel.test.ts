import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { haveNetlink } from "./netlink/socket.js";
import { scenario } from "./kernel-scenario.js";

const root = process.getuid?.() === 0;
const bun = join(__dirname, "../../node_modules/.bin/bun");

/** What both paths must agree on: indexes, the kernel-chosen veth MAC and DAD timing aside. */
function normalise(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v), (key, value) => {
    if (key === "ifindex" || key === "linkIndex" || key === "tentative") return undefined;
    if (key === "address" && typeof value === "string" && !value.startsWith("0")) return "(kernel's)";
    if (key === "addrs" && Array.isArray(value)) return value.filter((a: { local: string }) => !a.local.startsWith("fe80:"));
    if (key === "routes" && Array.isArray(value)) {
      // IPv6 local routes appear when DAD ends: timing, not the path.
      return value.filter((r: { family: number; table: string }) => r.family === 4 || r.table === "main");
    }
    return value;
  });
}

describe("kernel layer", () => {
  it("runs under Node through ip -batch (no FFI here)", () => {
    expect(haveNetlink()).toBe(false);
  });

  describe.runIf(root)("the same steps through ip -batch (Node) and rtnetlink (Bun) leave the same state (needs root)", () => {
    const tag = randomBytes(3).toString("hex");
    const made: string[] = [];
    const netns = (n: string) => {
      const name = `kl-${tag}-${n}`;
      execFileSync("ip", ["netns", "add", name]);
      made.push(name);
      return `/var/run/netns/${name}`;
    };
    afterAll(() => {
      for (const n of made) execFileSync("ip", ["netns", "del", n]);
    });

    it("bridge, veth into the pod, port flags, addresses, routes, reads and refusals", () => {
      const viaIp = scenario(netns("n1"), netns("p1"));
      const out = execFileSync(bun, [join(__dirname, "kernel-scenario.ts"), netns("n2"), netns("p2")], { encoding: "utf8" });
      const viaNetlink = JSON.parse(out) as unknown;
      expect(normalise(viaNetlink)).toEqual(normalise(viaIp));
      // And what was read is what the plugins rely on.
      const r = viaIp as { bridge: { mtu: number; promisc: boolean; address: string }; ports: Array<{ port: unknown; master: string }>; refused: unknown; afterDel: unknown; missing: unknown };
      expect(r.bridge).toMatchObject({ mtu: 1400, promisc: true, address: "02:00:00:00:0a:09" });
      expect(r.ports).toMatchObject([{ master: "kbr0", port: { hairpin: true, isolated: false } }]);
      expect(r.refused).toEqual({ index: 0, gone: true });
      expect(r.missing).toBeUndefined();
      expect(r.afterDel).toBeUndefined();
    });
  });
});
