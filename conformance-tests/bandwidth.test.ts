/**
 * bandwidth through libcni after Debian's bridge + host-local, side by side with Debian's Go
 * bandwidth 1.1.1 in twin nodes (same token, so the same network name, container ids and ifb
 * names): the same qdiscs, parameters, filter and ifb device for the same input; CHECK passes
 * and notices a changed qdisc; DEL with the pod's netns gone leaves no ifb and no qdisc.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ifbName } from "../plugins/bandwidth/tbf-params.js";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { deleteNetns } from "./lib/netns.js";
import type { Impl } from "./lib/paths.js";
import { newToken, type SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";
import {
  type BinDir,
  bandwidthBinDir,
  bandwidthConflist,
  bwNames,
  captureTc,
  shapingLeftovers,
} from "./lib/suites/bandwidth.js";

beforeAll(async () => {
  await ensureCnitool();
});

const bins: BinDir[] = [];
afterAll(() => {
  for (const b of bins.splice(0)) b.remove();
});

const sandbox = useSandbox();

async function twinNode(impl: Impl, token: string): Promise<SandboxNode> {
  const bin = bandwidthBinDir(impl);
  bins.push(bin);
  return sandbox.node({ impl, token, cniPath: [bin.dir] });
}

interface Scenario {
  title: string;
  /** static fields of the bandwidth plugin */
  fields?: Record<string, unknown>;
  /** capability args (runtimeConfig.bandwidth) */
  capArgs?: Record<string, unknown>;
}

const SCENARIOS: Scenario[] = [
  {
    title: "both directions from runtimeConfig (the pod annotations)",
    capArgs: {
      bandwidth: { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 4_000_000, egressBurst: 400_000 },
    },
  },
  { title: "ingress only, static fields", fields: { ingressRate: 1_000_000, ingressBurst: 100_000 } },
  {
    title: "egress only, kubelet's unlimited burst",
    capArgs: { bandwidth: { egressRate: 10_000_000, egressBurst: 2_147_483_647 } },
  },
  {
    title: "odd numbers that exercise the rounding",
    fields: { ingressRate: 3_333_337, ingressBurst: 777_779, egressRate: 123_456_789, egressBurst: 98_765 },
  },
];

interface TbfJson {
  kind?: string;
  options?: { rate?: number; burst_raw?: string; burst?: string; lat?: number; linklayer?: string };
}

/**
 * The two deliberate differences of a tbf made through tc rather than Go's netlink: the kernel
 * derives the bucket's ticks from tc's byte count (Go truncates to whole microseconds first, so
 * ours is up to 1 us plus one byte's time longer; "burst" and "lat" are printed from it), and tc
 * says "linklayer ethernet" where Go leaves it unspecified (the kernel computes both the same).
 */
function withoutTbfRounding(qdiscs: Record<string, unknown[]>, linklayer: string): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [dev, list] of Object.entries(qdiscs)) {
    out[dev] = list.map((q) => {
      const t = q as TbfJson;
      if (t.kind !== "tbf") return q;
      const { burst_raw: _raw, burst: _burst, lat: _lat, linklayer: seen, ...options } = t.options ?? {};
      expect(seen, `linklayer of the tbf on ${dev}`).toBe(linklayer);
      return { ...t, options };
    });
  }
  return out;
}

interface FilterJson {
  options?: { actions?: Array<{ order?: number; kind?: string; control_action?: { type?: string } }> };
}

/** The Go filter's second redirect (order 2, "pass"), which never runs: the first one steals every packet. */
function withoutUnreachableRedirect(filters: Record<string, unknown[]>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [dev, list] of Object.entries(filters)) {
    out[dev] = list.map((f) => {
      const actions = (f as FilterJson).options?.actions;
      if (!actions) return f;
      expect(actions.map((a) => [a.order, a.kind, a.control_action?.type])).toEqual([
        [1, "mirred", "stolen"],
        [2, "mirred", "pass"],
      ]);
      return { ...(f as object), options: { ...(f as FilterJson).options, actions: actions.slice(0, 1) } };
    });
  }
  return out;
}

/** tbfs whose tick counts are further apart than 1 us plus one byte at the rate, plus one tick. */
function tbfTicksApart(ours: Record<string, unknown[]>, ref: Record<string, unknown[]>): string[] {
  const problems: string[] = [];
  for (const [dev, list] of Object.entries(ref)) {
    const theirs = list.find((q) => (q as TbfJson).kind === "tbf") as TbfJson | undefined;
    const mine = (ours[dev] ?? []).find((q) => (q as TbfJson).kind === "tbf") as TbfJson | undefined;
    if (!theirs || !mine) continue;
    const a = Number.parseInt(mine.options?.burst_raw ?? "", 16);
    const b = Number.parseInt(theirs.options?.burst_raw ?? "", 16);
    const bound = 15.625 + 1e9 / (theirs.options?.rate ?? 1) / 64 + 1;
    if (!(a >= b && a - b <= bound))
      problems.push(`${dev}: ours ${a} ticks, Go ${b} (allowed up to ${bound.toFixed(1)} more)`);
  }
  return problems;
}

async function runSide(impl: Impl, token: string, s: Scenario) {
  const node = await twinNode(impl, token);
  const n = bwNames(node);
  node.writeConflist(bandwidthConflist(node, n, s.fields));
  const pod = await node.addPod("a");
  const opts = s.capArgs ? { capArgs: s.capArgs } : {};
  const added = expectOk(await node.cnitool("add", n.network, pod, opts), `${impl} ADD`) as {
    interfaces: Array<{ name: string; sandbox?: string }>;
  };
  const state = await captureTc(node, [pod]);
  const check = await node.cnitool("check", n.network, pod, opts);
  return { node, n, pod, opts, added, state, check };
}

describe("bandwidth against Debian's Go bandwidth 1.1.1", () => {
  for (const s of SCENARIOS) {
    it(`same tc state: ${s.title}`, async () => {
      const token = newToken();
      const ref = await runSide("reference", token, s);
      const ours = await runSide("ours", token, s);

      expect(tbfTicksApart(ours.state.qdiscs, ref.state.qdiscs)).toEqual([]);
      expect(withoutTbfRounding(ours.state.qdiscs, "ethernet")).toEqual(withoutTbfRounding(ref.state.qdiscs, "unspec"));
      expect(ours.state.filters).toEqual(withoutUnreachableRedirect(ref.state.filters));
      expect(ours.state.ifbs).toEqual(ref.state.ifbs);
      // The one deliberate difference: ours names the ifb's owner in its alias, for GC.
      for (const alias of Object.values(ref.state.aliases)) expect(alias).toBe("");
      for (const [name, alias] of Object.entries(ours.state.aliases)) {
        expect(alias).toBe(`cni-ts.bandwidth/${ours.n.network}/${ours.pod.containerId}`);
        expect(name).toBe(ifbName(ours.n.network, ours.pod.containerId));
      }
      const egress = Object.keys(ref.state.ifbs).length > 0;
      const roles = (ifs: Array<{ name: string }>) => ifs.map((i) => i.name.replace(/^veth[0-9a-f]{8}$/, "veth"));
      expect(roles(ours.added.interfaces)).toEqual(roles(ref.added.interfaces));
      expect(ours.added.interfaces.some((i) => i.name.startsWith("bwp"))).toBe(egress);

      expectOk(ref.check, "reference CHECK");
      expectOk(ours.check, "our CHECK");

      // DEL after the pod's netns is gone (the veth and its qdiscs go with it): no ifb, no qdisc.
      for (const side of [ref, ours]) {
        await deleteNetns(side.pod.name);
        expectOk(await side.node.cnitool("del", side.n.network, side.pod, side.opts), `${side.node.impl} DEL`);
        expect(await shapingLeftovers(side.node)).toEqual([]);
        expectOk(await side.node.cnitool("del", side.n.network, side.pod, side.opts), `${side.node.impl} second DEL`);
      }
    });
  }

  for (const version of ["0.3.1", "0.4.0", "1.0.0"]) {
    it(`same ADD result bytes as the Go plugin for cniVersion ${version}`, async () => {
      const token = newToken();
      const bw = {
        capArgs: {
          bandwidth: { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 8_000_000, egressBurst: 800_000 },
        },
      };
      const out: string[] = [];
      for (const impl of ["reference", "ours"] as Impl[]) {
        const node = await twinNode(impl, token);
        const n = bwNames(node);
        node.writeConflist(bandwidthConflist(node, n, {}, version));
        const pod = await node.addPod("a");
        const add = await node.cnitool("add", n.network, pod, bw);
        expectOk(add, `${impl} ADD ${version}`);
        out.push(
          add.stdout
            .replace(/"([0-9a-f]{2}:){5}[0-9a-f]{2}"/g, '"MAC"')
            .replace(/veth[0-9a-f]{8}/g, "veth")
            .replaceAll(node.path, "NODE")
            .replaceAll(pod.path, "POD"),
        );
        expectOk(await node.cnitool("del", n.network, pod, bw));
      }
      expect(out[1]).toBe(out[0]);
    });
  }

  it("re-ADD converges, GC removes only this network's ifbs of gone pods, STATUS succeeds", async () => {
    const token = newToken();
    const node = await twinNode("ours", token);
    const n = bwNames(node);
    node.writeConflist(bandwidthConflist(node, n));
    const bw = { capArgs: { bandwidth: { egressRate: 8_000_000, egressBurst: 800_000 } } };
    const [a, b] = [await node.addPod("a"), await node.addPod("b")];
    const addA = expectOk(await node.cnitool("add", n.network, a, bw));
    expectOk(await node.cnitool("add", n.network, b, bw));
    // A second network on the same node whose ifbs GC of the first must not touch.
    const other = { network: `${n.network}x`, bridge: node.uniqueName("cc") };
    node.writeConflist(bandwidthConflist(node, other));
    const c = await node.addPod("c");
    expectOk(await node.cnitool("add", other.network, c, bw));
    const before = await captureTc(node, [a, b, c]);
    expect(before.ifbs).toHaveLength(3);

    const conf = { cniVersion: "1.1.0", name: n.network, type: "bandwidth", capabilities: { bandwidth: true } };
    const again = await node.invoke("bandwidth", "ADD", { ...conf, runtimeConfig: bw.capArgs, prevResult: addA }, a);
    expectOk(again, "second ADD");
    expect(await captureTc(node, [a, b, c])).toEqual(before);

    const valid = [{ containerID: a.containerId, ifname: "eth0" }];
    expectOk(await node.invoke("bandwidth", "GC", { ...conf, "cni.dev/valid-attachments": valid }, null), "GC");
    const after = await captureTc(node, [a, b, c]);
    expect(after.ifbs.map((l) => l.name).sort()).toEqual(
      [ifbName(n.network, a.containerId), ifbName(other.network, c.containerId)].sort(),
    );
    expect(await node.invoke("bandwidth", "GC", { ...conf }, null)).toMatchObject({ ok: false, json: { code: 7 } });
    expectOk(await node.invoke("bandwidth", "STATUS", conf, null), "STATUS");

    for (const [net, pod] of [
      [n.network, a],
      [n.network, b],
      [other.network, c],
    ] as const)
      expectOk(await node.cnitool("del", net, pod, bw));
    expect(await shapingLeftovers(node)).toEqual([]);
  });

  it("CHECK notices a changed rate and a missing ifb, and says what to do", async () => {
    const s = SCENARIOS[0]!;
    const ours = await runSide("ours", newToken(), s);
    expectOk(ours.check);
    const veth = Object.keys(ours.state.qdiscs).length;
    expect(veth).toBeGreaterThan(0);
    const hostVeth = (ours.added.interfaces.find((i) => !i.sandbox && i.name.startsWith("veth")) ?? { name: "" }).name;
    await ours.node.exec([
      "tc",
      "qdisc",
      "replace",
      "dev",
      hostVeth,
      "root",
      "handle",
      "1:",
      "tbf",
      "rate",
      "2mbit",
      "burst",
      "100000",
      "limit",
      "200000",
    ]);
    const changed = await ours.node.cnitool("check", ours.n.network, ours.pod, ours.opts);
    expect(changed.ok).toBe(false);
    expect(changed.stderr).toContain("Rate doesn't match");
    expect(changed.stderr).toContain("run DEL and ADD again");
    await ours.node.exec(["ip", "link", "del", ifbName(ours.n.network, ours.pod.containerId)]);
    const gone = await ours.node.cnitool("check", ours.n.network, ours.pod, ours.opts);
    expect(gone.stderr).toContain("get ifb device");
    expectOk(await ours.node.cnitool("del", ours.n.network, ours.pod, ours.opts));
  });

  it("refuses what the Go plugin refuses, with its message, as code 7", async () => {
    const token = newToken();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ingressRate: 1_000_000 }, "if rate is set, burst must also be set"],
      [{ egressBurst: 80_000 }, "if burst is set, rate must also be set"],
      [{ ingressRate: 1_000_000, ingressBurst: 34_359_738_360 }, "burst cannot be more than 4GB"],
    ];
    const nodes = { reference: await twinNode("reference", token), ours: await twinNode("ours", token) };
    for (const [bw, message] of cases) {
      for (const node of Object.values(nodes)) {
        const n = bwNames(node);
        node.writeConflist(bandwidthConflist(node, n));
        const pod = node.pods[0] ?? (await node.addPod("a"));
        const out = await node.cnitool("add", n.network, pod, { capArgs: { bandwidth: bw } });
        expect(out.ok).toBe(false);
        expect(out.stderr).toContain(message);
        expectOk(await node.cnitool("del", n.network, pod));
        const direct = await node.invoke(
          "bandwidth",
          "ADD",
          { cniVersion: "1.0.0", name: n.network, type: "bandwidth", runtimeConfig: { bandwidth: bw } },
          pod,
        );
        expect(direct.json).toMatchObject(node.impl === "ours" ? { code: 7, msg: message } : { msg: message });
      }
    }
  });

  it("refuses a burst smaller than one packet (the Go plugin accepts it and drops every full-sized packet)", async () => {
    const node = await twinNode("ours", newToken());
    const n = bwNames(node);
    node.writeConflist(bandwidthConflist(node, n));
    const pod = await node.addPod("a");
    const out = await node.cnitool("add", n.network, pod, {
      capArgs: { bandwidth: { ingressRate: 1_000_000, ingressBurst: 8000 } },
    });
    expect(out.ok).toBe(false);
    expect(out.stderr).toContain("ingressBurst 8000 bits is smaller than one full-sized packet");
    expect(out.stderr).toContain("at least 12112 bits");
    expectOk(await node.cnitool("del", n.network, pod));
    expect(await shapingLeftovers(node)).toEqual([]);
  });

  it("finds the host veth when it has the same ifindex as the pod end (fresh namespaces), for ours and the Go plugin", async () => {
    const token = newToken();
    for (const impl of ["reference", "ours"] as Impl[]) {
      const node = await twinNode(impl, token);
      const pod = await node.addPod("a");
      const veth = node.uniqueName("vb");
      await node.exec(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod.path]);
      await node.exec(["ip", "link", "set", veth, "up"]);
      const index = async (r: Promise<{ stdout: string }>) =>
        (JSON.parse((await r).stdout) as Array<{ ifindex: number }>)[0]!.ifindex;
      const hostIndex = await index(node.exec(["ip", "-j", "link", "show", "dev", veth]));
      expect(await index(node.execInPod(pod, ["ip", "-j", "link", "show", "dev", "eth0"]))).toBe(hostIndex);
      const conf = {
        cniVersion: "1.0.0",
        name: node.uniqueName("bw-"),
        type: "bandwidth",
        ingressRate: 8_000_000,
        ingressBurst: 800_000,
        egressRate: 8_000_000,
        egressBurst: 800_000,
        prevResult: {
          cniVersion: "1.0.0",
          interfaces: [{ name: veth }, { name: "eth0", sandbox: pod.path }],
          ips: [],
        },
      };
      expectOk(await node.invoke("bandwidth", "ADD", conf, pod), `${impl} ADD`);
      expect((await captureTc(node, [pod])).ifbs).toHaveLength(1);
      expectOk(await node.invoke("bandwidth", "DEL", conf, pod), `${impl} DEL`);
      await node.exec(["ip", "link", "del", veth]);
      expect(await shapingLeftovers(node)).toEqual([]);
    }
  });
});
