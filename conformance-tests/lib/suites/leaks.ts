/**
 * A kube-flannel node in a sandbox for the leak tests: kube-flannel's stock 0.3.1 conflist
 * (flannel + portmap) with its paths pointed into the sandbox, flanneld's subnet.env, and the
 * operator commands (`cni-ts gc`, `cni-ts doctor`) run inside the node's namespace with the node's
 * path flags, as an operator would run them on the node.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect } from "vitest";
import { expectOk } from "../cni-calls.js";
import { ensureCnitool } from "../cnitool-build.js";
import { OURS_BIN, requireOursBuilt } from "../paths.js";
import type { Pod, SandboxNode } from "../sandbox.js";
import { type SandboxScope, useSandbox } from "../use-sandbox.js";

export const NETWORK = "cbr0";

export interface FlannelNode {
  node: SandboxNode;
  bridge: string;
  subnet: string;
  subnetEnv: string;
  flannelDir: string;
  storeDir: string;
  resultsDir: string;
  conflist: string;
}

export function flannelNode(
  node: SandboxNode,
  opts: { subnetPrefix?: number; dualStack?: boolean; nftables?: boolean } = {},
): FlannelNode {
  const runDir = join(node.dir, "run-flannel");
  mkdirSync(runDir);
  const subnetEnv = join(runDir, "subnet.env");
  const [a, b, c] = node.subnet().split(".") as [string, string, string];
  const prefix = opts.subnetPrefix ?? 24;
  const v6 = node.subnet6().replace("::/64", "");
  const v6Lines = opts.dualStack
    ? `FLANNEL_IPV6_NETWORK=${v6.split(":").slice(0, 3).join(":")}::/48\nFLANNEL_IPV6_SUBNET=${v6}::1/64\n`
    : "";
  writeFileSync(
    subnetEnv,
    `FLANNEL_NETWORK=${a}.${b}.0.0/16\nFLANNEL_SUBNET=${a}.${b}.${c}.1/${prefix}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n${v6Lines}`,
  );
  const bridge = node.uniqueName("cni");
  const flannelDir = join(node.dataDir, "flannel");
  const networksDir = join(node.dataDir, "networks");
  const conflist = node.writeConflist(
    {
      name: NETWORK,
      cniVersion: "0.3.1",
      plugins: [
        {
          type: "flannel",
          delegate: {
            hairpinMode: true,
            isDefaultGateway: true,
            bridge,
            ...(opts.nftables ? { ipMasqBackend: "nftables" } : {}),
          },
          subnetFile: subnetEnv,
          dataDir: flannelDir,
          ipam: { dataDir: networksDir },
        },
        { type: "portmap", capabilities: { portMappings: true }, ...(opts.nftables ? { backend: "nftables" } : {}) },
      ],
    },
    "10-flannel.conflist",
  );
  return {
    node,
    bridge,
    subnet: `${a}.${b}.${c}.0/${prefix}`,
    subnetEnv,
    flannelDir,
    storeDir: join(networksDir, NETWORK),
    resultsDir: join(node.cacheDir, "results"),
    conflist,
  };
}

export function hostPortCaps(port: number): Record<string, unknown> {
  return { portMappings: [{ HostPort: port, ContainerPort: 8080, Protocol: "tcp", HostIP: "" }] };
}

/** ADD through libcni; returns the pod's first address (IPv4 on these nodes) and all of them. */
export async function addFlannelPod(
  f: FlannelNode,
  label: string,
  hostPort?: number,
): Promise<{ pod: Pod; address: string; addresses: string[] }> {
  const pod = await f.node.addPod(label);
  const out = await f.node.cnitool(
    "add",
    NETWORK,
    pod,
    hostPort === undefined ? {} : { capArgs: hostPortCaps(hostPort) },
  );
  expectOk(out);
  const addresses = (out.json as { ips: Array<{ address: string }> }).ips.map((i) => i.address.split("/")[0]!);
  return { pod, address: addresses[0]!, addresses };
}

export function pathFlags(f: FlannelNode, binDir = OURS_BIN): string[] {
  return ["--conf-dir", f.node.confDir, "--bin-dir", binDir, "--cache-dir", f.node.cacheDir];
}

/** `cni-ts COMMAND ARGS` inside the node's namespace (the executable from `binDir`). */
export async function nodeCommand(f: FlannelNode, args: string[], env: Record<string, string> = {}, binDir = OURS_BIN) {
  return f.node.exec([join(binDir, "cni-ts"), ...args], { check: false, env, timeoutMs: 110_000 });
}

/** Every test file of the leak suite: our build and the libcni client are needed, one sandbox scope. */
export function leakSuite(): SandboxScope {
  beforeAll(async () => {
    requireOursBuilt();
    await ensureCnitool();
  });
  return useSandbox();
}

/** Sets every file under `dir` back by `ms`: the node has been running that long since. */
export function backdate(dir: string, ms: number): void {
  if (!existsSync(dir)) return;
  const t = new Date(Date.now() - ms);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) backdate(path, ms);
    else utimesSync(path, t, t);
  }
}

/** The store's reservations: address -> container id. */
export function reservationsOf(f: FlannelNode): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ls(f.storeDir)) {
    if (!/^(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+:[0-9a-f:]*)$/.test(name)) continue;
    out[name] = readFileSync(join(f.storeDir, name), "utf8").split("\r\n")[0]!;
  }
  return out;
}

export function ls(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => !n.startsWith("."))
        .sort()
    : [];
}

/** Simulated crash of a pod: its namespace goes away (the kernel takes its links) and no DEL runs. */
export async function crashPod(f: FlannelNode, pod: Pod): Promise<void> {
  const r = await f.node.exec(["ip", "netns", "delete", pod.name], { check: false });
  expect(r.status, r.stderr).toBe(0);
}

export async function natRules(f: FlannelNode): Promise<string> {
  // Without iptables-save's time-stamped comment lines, so two dumps compare equal.
  return (await f.node.exec(["iptables-save", "-t", "nat"])).stdout
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n");
}

/** The addresses on the pod's eth0. */
export async function podAddresses(f: FlannelNode, pod: Pod): Promise<string[]> {
  const r = await f.node.execInPod(pod, ["ip", "-br", "addr", "show", "dev", "eth0"]);
  return r.stdout
    .trim()
    .split(/\s+/)
    .slice(2)
    .map((a) => a.split("/")[0]!);
}

export const TEN_MINUTES = 10 * 60 * 1000;
