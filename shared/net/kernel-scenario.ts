/**
 * One bridge-plugin-shaped kernel call sequence in a given node and pod namespace, printing what
 * the kernel layer read back as JSON. kernel.test.ts runs it in-process under Node (the `ip
 * -batch` path) and under Bun (the netlink path) and compares the two. Usage: NODE_NS POD_NS.
 */
import { execFileSync } from "node:child_process";
import { EXISTS, GONE } from "./batch.js";
import { kernel, KernelStepError, tcKernel, waitForKernel } from "./kernel.js";

export function scenario(node: string, pod: string): unknown {
  kernel(
    [
      { op: { op: "bridge-add", name: "kbr0", address: "02:00:00:00:0a:01", mtu: 1400 } },
      { op: { op: "link-set", dev: "kbr0", up: true } },
      { op: { op: "link-set", dev: "kbr0", promisc: true } },
      {
        op: {
          op: "veth-add",
          name: "vethk0",
          mtu: 1400,
          txqlen: 0,
          peer: { name: "eth0", mtu: 1400, txqlen: 0, address: "0a:58:0a:63:00:02", netns: pod },
        },
      },
      { op: { op: "link-set", dev: "vethk0", master: "kbr0" } },
      { op: { op: "port-set", dev: "vethk0", hairpin: true, isolated: false } },
      { op: { op: "link-set", dev: "vethk0", up: true } },
      { op: { op: "addr-add", dev: "kbr0", cidr: "10.99.0.1/24" } },
      { op: { op: "addr-add", dev: "kbr0", cidr: "10.99.0.1/24" }, tolerate: EXISTS },
      { op: { op: "addr-add", dev: "kbr0", cidr: "10.98.0.1/24" } },
      { op: { op: "addr-del", dev: "kbr0", cidr: "10.98.0.1/24" } },
      { op: { op: "addr-del", dev: "kbr0", cidr: "10.98.0.1/24" }, tolerate: GONE },
      { op: { op: "link-set", dev: "kbr0", address: "02:00:00:00:0a:09" } },
      // bandwidth's ifb: created, created again (reused), then set up with its owner's alias.
      { op: { op: "ifb-add", name: "kifb0", mtu: 1400, txqlen: 0 } },
      { op: { op: "ifb-add", name: "kifb0", mtu: 1400, txqlen: 0 }, tolerate: EXISTS },
      { op: { op: "link-set", dev: "kifb0", mtu: 1400, txqlen: 0, alias: "cni-ts.scenario/n/c", up: true } },
    ],
    [],
    { netns: node },
  );
  const [podLink, routes] = kernel(
    [
      { op: { op: "addr-add", dev: "eth0", cidr: "10.99.0.2/24" } },
      { op: { op: "addr-add", dev: "eth0", cidr: "fd99::2/64" } },
      { op: { op: "link-set", dev: "eth0", up: true } },
      { op: { op: "route-append", dev: "eth0", dst: "10.0.0.0/8", gw: "10.99.0.1" } },
      { op: { op: "route-append", dev: "eth0", dst: "0.0.0.0/0", gw: "10.99.0.1", metric: 5 } },
      {
        op: {
          op: "route-append",
          dev: "eth0",
          dst: "192.168.0.0/16",
          gw: "10.99.0.254",
          table: 100,
          mtu: 1300,
          advmss: 1260,
        },
      },
      { op: { op: "route-append", dev: "eth0", dst: "172.16.0.0/12" } },
    ],
    [
      { q: "addrs", dev: "eth0" },
      { q: "routes", dev: "eth0" },
    ],
    { netns: pod },
  );
  const [bridge, ports, veth, missing, noPorts, ifbs, all] = kernel(
    [],
    [
      { q: "addrs", dev: "kbr0" },
      { q: "ports", master: "kbr0" },
      { q: "link", dev: "vethk0" },
      { q: "link", dev: "nosuch0" },
      { q: "ports", master: "nosuch0" },
      { q: "links", kind: "ifb" },
      { q: "links" },
    ],
    { netns: node },
  );
  const vethIndex = veth?.ifindex ?? -1;
  const [port, notPort, noSuchIndex] = kernel(
    [],
    [
      { q: "port", master: "kbr0", index: vethIndex },
      { q: "port", master: "kbr0", index: bridge?.ifindex ?? -1 },
      { q: "port", master: "kbr0", index: 999999 },
    ],
    { netns: node },
  );
  let refused: unknown;
  try {
    kernel([{ op: { op: "link-set", dev: "vethk0", master: "nosuch0" } }], [], { netns: node });
  } catch (e) {
    refused = e instanceof KernelStepError ? { index: e.index, gone: GONE.test(e.reason) } : String(e);
  }
  kernel([{ op: { op: "link-del", dev: "vethk0" } }, { op: { op: "link-del", dev: "vethk0" }, tolerate: GONE }], [], {
    netns: node,
  });
  const [afterDel] = kernel([], [{ q: "link", dev: "eth0" }], { netns: pod });
  return {
    podLink,
    routes,
    bridge,
    ports,
    veth,
    port,
    notPort,
    noSuchIndex,
    missing,
    noPorts,
    ifbs,
    all,
    refused,
    afterDel,
  };
}

/**
 * bandwidth's tc layout on a veth and an ifb (a tbf above 4 GB/s on one of them), made twice (the
 * second converges), then read back: the qdiscs and the ingress filters.
 */
export function tcScenario(node: string): unknown {
  kernel(
    [
      { op: { op: "veth-add", name: "tv0", peer: { name: "tv1" } } },
      { op: { op: "ifb-add", name: "tifb0", txqlen: 0 } },
      { op: { op: "link-set", dev: "tv0", up: true } },
      { op: { op: "link-set", dev: "tifb0", up: true } },
    ],
    [],
    { netns: node },
  );
  const steps = [
    { op: { op: "tbf-replace", dev: "tv0", rate: 5_000_000_000, burst: 50_000_000, limit: 175_000_000, buffer: 0 } },
    { op: { op: "ingress-replace", dev: "tv0" } },
    { op: { op: "redirect-replace", dev: "tv0", to: "tifb0" } },
    { op: { op: "tbf-replace", dev: "tifb0", rate: 123_456, burst: 9_999, limit: 13_085, buffer: 0 } },
  ] as const;
  tcKernel(steps, [], { netns: node });
  const [veth, filters, ifb] = tcKernel(
    steps,
    [
      { q: "qdiscs", dev: "tv0" },
      { q: "ingress-filters", dev: "tv0" },
      { q: "qdiscs", dev: "tifb0" },
    ],
    { netns: node },
  );
  return { veth, filters, ifb };
}

/**
 * The wait for a link to come up: a timer sets it up (with an ip process) 0.3 s into the wait,
 * so the wait must keep the event loop turning. Returns whether the wait saw the change and how
 * long it took (the timeout is far longer).
 */
export async function waitScenario(node: string): Promise<{ ok: boolean; ms: number; timeoutMs: number }> {
  kernel([{ op: { op: "bridge-add", name: "kw0" } }], [], { netns: node });
  const isUp = () => kernel([], [{ q: "link", dev: "kw0" }], { netns: node })[0]?.flags.includes("UP") === true;
  const started = performance.now();
  const timeoutMs = 20000;
  const timer = setTimeout(
    () => execFileSync("nsenter", [`--net=${node}`, "--", "ip", "link", "set", "kw0", "up"]),
    300,
  );
  const ok = await waitForKernel("link", isUp, { netns: node, timeoutMs });
  clearTimeout(timer);
  return { ok, ms: performance.now() - started, timeoutMs };
}

const args = process.argv.slice(2);
if (process.argv[1]?.endsWith("kernel-scenario.ts")) {
  if (args[0] === "wait" && args[1]) console.log(JSON.stringify(await waitScenario(args[1])));
  else if (args[0] === "tc" && args[1]) console.log(JSON.stringify(tcScenario(args[1])));
  else if (args.length === 2) console.log(JSON.stringify(scenario(args[0]!, args[1]!)));
}
