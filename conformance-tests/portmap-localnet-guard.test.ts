/**
 * portmap's localnet guard, measured: route_localnet (set by portmap on the interface towards the
 * pods) lets packets addressed to 127.0.0.1 in; the guard drops those that did not come from the
 * node itself. On a sandboxed node, a UDP service bound to the node's 127.0.0.1 receives nothing
 * from another namespace while the guard is there (its counter counts every datagram), and
 * receives them once the guard is deleted by hand; localhost:hostPort keeps working; the guard
 * exists once per node and goes with the last port mapping.
 */
import { spawn } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { type Netns, execIn } from "./lib/netns.js";
import { TOOL_PATH, requireOursBuilt } from "./lib/paths.js";
import type { SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";
import { type Backend, HOST_PORT, firewallNode, firewallReload } from "./lib/suites/firewall.js";
import { connect } from "./lib/suites/portmap.js";

beforeAll(async () => {
  requireOursBuilt();
  await ensureCnitool();
});

const LOOPBACK_SERVICE_PORT = 18499;
const DATAGRAMS = 5;

const LISTENER = `
const s = require("dgram").createSocket("udp4");
s.on("message", () => console.log("got"));
s.bind(Number(process.argv[1]), "127.0.0.1", () => console.log("ready"));
`;

/** A UDP service on the node's 127.0.0.1; `received()` is how many datagrams reached it. */
async function loopbackService(node: SandboxNode): Promise<{ received(): number }> {
  const child = spawn("ip", ["netns", "exec", node.name, "node", "-e", LISTENER, String(LOOPBACK_SERVICE_PORT)], {
    env: { PATH: TOOL_PATH },
    stdio: ["ignore", "pipe", "pipe"],
  });
  node.onTeardown(() => child.kill("SIGKILL"));
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("loopback service did not start")), 10_000);
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { received: () => out.split("\n").filter((l) => l === "got").length };
}

const SENDER = `
const s = require("dgram").createSocket("udp4");
let n = Number(process.argv[2]);
const next = () => (n-- > 0 ? s.send("martian", Number(process.argv[1]), "127.0.0.1", () => setTimeout(next, 20)) : s.close());
next();
`;

/**
 * Makes `ns` send to 127.0.0.1 through `via` instead of its own loopback (an attacker's choice,
 * in a namespace the test owns), then sends DATAGRAMS datagrams.
 */
async function sendMartians(ns: Netns, via: string, routed: { done: boolean }): Promise<void> {
  if (!routed.done) {
    // The loopback routes exist only while lo is up.
    for (const dst of ["127.0.0.0/8", "127.0.0.1"])
      await execIn(ns, ["ip", "route", "del", "local", dst, "dev", "lo", "table", "local"], { check: false });
    await execIn(ns, ["ip", "route", "add", "127.0.0.1/32", "via", via, "dev", "eth0"]);
    expect((await execIn(ns, ["ip", "route", "get", "127.0.0.1"])).stdout).toContain(`via ${via} dev eth0`);
    routed.done = true;
  }
  await execIn(ns, ["node", "-e", SENDER, String(LOOPBACK_SERVICE_PORT), String(DATAGRAMS)]);
  await new Promise((r) => setTimeout(r, 200));
}

async function guardCount(node: SandboxNode, backend: Backend): Promise<{ rules: number; packets: number }> {
  if (backend === "iptables") {
    const lines = (await node.exec(["iptables-save", "-c", "-t", "filter"])).stdout
      .split("\n")
      .filter((l) => l.includes("drop martian traffic to 127.0.0.0/8"));
    return { rules: lines.length, packets: lines.reduce((sum, l) => sum + Number(/^\[(\d+):/.exec(l)?.[1] ?? 0), 0) };
  }
  const r = await node.exec(["nft", "list", "chain", "ip", "cni_hostport", "localnet_guard"], { check: false });
  const lines = r.status === 0 ? r.stdout.split("\n").filter((l) => l.includes("drop comment")) : [];
  return {
    rules: lines.length,
    packets: lines.reduce((sum, l) => sum + Number(/counter packets (\d+)/.exec(l)?.[1] ?? 0), 0),
  };
}

async function deleteGuard(node: SandboxNode, backend: Backend): Promise<void> {
  if (backend === "nftables") {
    await node.exec(["nft", "delete", "chain", "ip", "cni_hostport", "localnet_guard"]);
    return;
  }
  const rule = (await node.exec(["iptables-save", "-t", "filter"])).stdout
    .split("\n")
    .find((l) => l.includes("drop martian traffic"));
  await node.exec(["iptables-restore", "--noflush"], { input: `*filter\n-D${rule!.slice(2)}\nCOMMIT\n` });
}

describe("portmap localnet guard (route_localnet made safe)", () => {
  const sandbox = useSandbox();

  for (const backend of ["iptables", "nftables"] as const) {
    it(`${backend}: martian packets to 127.0.0.1 from another namespace are dropped and counted; localhost:hostPort works; one guard per node`, async () => {
      const node = await sandbox.node({ impl: "ours" });
      const f = await firewallNode(node, backend);
      expect(await connect(node, node, "127.0.0.1", HOST_PORT)).toBe("pong a");
      expect(await guardCount(node, backend)).toEqual({ rules: 1, packets: 0 });
      const service = await loopbackService(node);

      // From a pod, over the bridge where portmap turned route_localnet on.
      expect((await node.exec(["cat", `/proc/sys/net/ipv4/conf/${f.bridge}/route_localnet`])).stdout.trim()).toBe("1");
      const fromPod = { done: false };
      await sendMartians(f.b, f.gw4, fromPod);
      expect(await guardCount(node, backend)).toEqual({ rules: 1, packets: DATAGRAMS });

      // From outside the node, on its external interface (route_localnet on there too, as on a
      // node where kube-proxy set it for every interface).
      const external = node.uniqueName("ext");
      await node.exec(["sysctl", "-q", "-w", `net.ipv4.conf.${external}.route_localnet=1`]);
      const fromOutside = { done: false };
      await sendMartians(f.outside.ns, f.outside.nodeV4, fromOutside);
      expect(await guardCount(node, backend)).toEqual({ rules: 1, packets: 2 * DATAGRAMS });
      expect(service.received(), "the node's loopback service got martian datagrams").toBe(0);

      // Control: without the guard the same datagrams reach the loopback service.
      await deleteGuard(node, backend);
      await sendMartians(f.outside.ns, f.outside.nodeV4, fromOutside);
      expect(service.received()).toBe(DATAGRAMS);
      const reload = await firewallReload(node);
      expect(reload.stdout).toMatch(/restored .* localnet guard/);
      expect((await guardCount(node, backend)).rules).toBe(1);
      await sendMartians(f.outside.ns, f.outside.nodeV4, fromOutside);
      expect(service.received()).toBe(DATAGRAMS);
      expect(await connect(node, node, "127.0.0.1", HOST_PORT)).toBe("pong a");

      // The guard stays while a mapping remains, and goes with the last one.
      expectOk(await node.cnitool("del", f.network, f.a, { capArgs: f.mappingsOf(f.a) }));
      expect((await guardCount(node, backend)).rules).toBe(1);
      expectOk(await node.cnitool("del", f.network, f.b, { capArgs: f.mappingsOf(f.b) }));
      expect((await guardCount(node, backend)).rules).toBe(0);
    });
  }
});
