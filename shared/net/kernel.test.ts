import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ipLine } from "./kernel.js";
import { haveNetlink } from "./netlink/socket.js";
import { scenario, tcScenario, waitScenario } from "./kernel-scenario.js";

const root = process.getuid?.() === 0;
const bun = join(__dirname, "../../node_modules/.bin/bun");

const FIXED_MACS = ["02:00:00:00:0a:09", "0a:58:0a:63:00:02"];

/** What both paths must agree on: indexes, the kernel-chosen veth MAC and DAD timing aside. */
function normalise(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v), (key, value) => {
    // Carrier (operstate, LOWER_UP, NO-CARRIER) follows linkwatch's timing, not the path.
    if (key === "ifindex" || key === "linkIndex" || key === "tentative" || key === "operstate") return undefined;
    if (key === "flags" && Array.isArray(value)) return value.filter((f) => f !== "LOWER_UP" && f !== "NO-CARRIER");
    if (key === "address" && typeof value === "string" && !FIXED_MACS.includes(value)) return "(kernel's)";
    if (key === "addrs" && Array.isArray(value))
      return value.filter((a: { local: string }) => !a.local.startsWith("fe80:"));
    if (key === "routes" && Array.isArray(value)) {
      // IPv6 local routes appear when DAD ends: timing, not the path.
      return value.filter((r: { family: number; table: string }) => r.family === 4 || r.table === "main");
    }
    return value;
  });
}

describe("kernel layer", () => {
  it("renders each step as the ip line that does the same (the trace, and the batch without FFI)", () => {
    expect(ipLine({ op: "ifb-add", name: "bwp0123456789ab", mtu: 1450, txqlen: 0 })).toBe(
      "link add bwp0123456789ab mtu 1450 txqlen 0 type ifb",
    );
    expect(
      ipLine({ op: "link-set", dev: "bwp0", mtu: 1450, txqlen: 1000, alias: "cni-ts.bandwidth/n/c", up: true }),
    ).toBe("link set bwp0 mtu 1450 txqlen 1000 alias cni-ts.bandwidth/n/c up");
  });

  it("runs under Node through ip -batch (no FFI here)", () => {
    expect(haveNetlink()).toBe(false);
  });

  describe.runIf(root)(
    "the same steps through ip -batch (Node) and rtnetlink (Bun) leave the same state (needs root)",
    () => {
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
        const out = execFileSync(bun, [join(__dirname, "kernel-scenario.ts"), netns("n2"), netns("p2")], {
          encoding: "utf8",
        });
        const viaNetlink = JSON.parse(out) as unknown;
        expect(normalise(viaNetlink)).toEqual(normalise(viaIp));
        // And what was read is what the plugins rely on.
        const r = viaIp as {
          bridge: { mtu: number; promisc: boolean; address: string };
          ports: Array<{ port: unknown; master: string }>;
          port: unknown;
          notPort: unknown;
          noSuchIndex: unknown;
          ifbs: unknown[];
          all: Array<{ ifname: string; master?: string }>;
          refused: unknown;
          afterDel: unknown;
          missing: unknown;
        };
        expect(r.bridge).toMatchObject({ mtu: 1400, promisc: true, address: "02:00:00:00:0a:09" });
        expect(r.ports).toMatchObject([{ master: "kbr0", port: { hairpin: true, isolated: false } }]);
        expect(r.port).toMatchObject({ ifname: "vethk0", master: "kbr0", port: { hairpin: true } });
        expect(r.notPort).toBeUndefined();
        expect(r.noSuchIndex).toBeUndefined();
        expect(r.ifbs).toMatchObject([
          {
            ifname: "kifb0",
            kind: "ifb",
            mtu: 1400,
            txqlen: 0,
            alias: "cni-ts.scenario/n/c",
            flags: ["BROADCAST", "NOARP", "UP", "LOWER_UP"],
          },
        ]);
        expect(r.all.map((l) => `${l.ifname}${l.master ? `@${l.master}` : ""}`)).toEqual([
          "lo",
          "kbr0",
          "vethk0@kbr0",
          "kifb0",
        ]);
        expect(r.refused).toEqual({ index: 0, gone: true });
        expect(r.missing).toBeUndefined();
        expect(r.afterDel).toBeUndefined();
      });

      it("bandwidth's qdiscs and filter through tc -batch (Node) and rtnetlink (Bun): the same layout, read back alike", () => {
        const viaTc = tcScenario(netns("t1")) as Record<string, unknown[]>;
        const viaNetlink = JSON.parse(
          execFileSync(bun, [join(__dirname, "kernel-scenario.ts"), "tc", netns("t2")], { encoding: "utf8" }),
        ) as Record<string, unknown[]>;
        // tc's JSON has more than the views: keep the views' fields.
        type Q = { kind: string; handle: string; root?: true; parent?: string; options?: Record<string, unknown> };
        type F = { kind: string; options?: { flowid?: string; actions?: Array<Record<string, unknown>> } };
        const pick = <T extends object>(o: T | undefined, keys: string[]) =>
          Object.fromEntries(keys.flatMap((k) => (o && k in o ? [[k, (o as Record<string, unknown>)[k]]] : [])));
        const qdisc = (q: Q) => ({
          ...pick(q, ["kind", "handle", "root", "parent"]),
          options: q.kind === "tbf" ? pick(q.options, ["rate", "burst_raw", "limit"]) : {},
        });
        const filter = (f: F) =>
          f.options?.flowid === undefined && f.options?.actions === undefined
            ? { kind: f.kind }
            : {
                kind: f.kind,
                options: {
                  flowid: f.options.flowid,
                  actions: f.options.actions?.map((a) =>
                    pick(a, ["order", "kind", "mirred_action", "direction", "to_dev"]),
                  ),
                },
              };
        const view = (r: Record<string, unknown[]>) => ({
          veth: (r.veth as Q[]).map(qdisc),
          filters: (r.filters as F[]).map(filter),
          ifb: (r.ifb as Q[]).map(qdisc),
        });
        expect(view(viaNetlink)).toEqual(view(viaTc));
        expect(viaNetlink).toEqual(view(viaNetlink));
        expect(view(viaTc).veth[0]).toEqual({
          kind: "tbf",
          handle: "1:",
          root: true,
          options: { rate: 5_000_000_000, burst_raw: "26259", limit: 175_000_000 },
        });
        expect(view(viaTc).filters.at(-1)).toEqual({
          kind: "u32",
          options: {
            flowid: "1:1",
            actions: [{ order: 1, kind: "mirred", mirred_action: "redirect", direction: "egress", to_dev: "tifb0" }],
          },
        });
      });

      it("waits for a link to come up on its event, through ip monitor (Node) and a netlink subscription (Bun)", async () => {
        const viaIp = await waitScenario(netns("w1"));
        const viaNetlink = JSON.parse(
          execFileSync(bun, [join(__dirname, "kernel-scenario.ts"), "wait", netns("w2")], { encoding: "utf8" }),
        ) as typeof viaIp;
        for (const r of [viaIp, viaNetlink]) {
          expect(r.ok).toBe(true);
          // Woken by the event (0.3 s after the start), not by the timeout; generous for a loaded machine.
          expect(r.ms).toBeLessThan(r.timeoutMs / 2);
          expect(r.ms).toBeGreaterThanOrEqual(250);
        }
      });
    },
  );
});
