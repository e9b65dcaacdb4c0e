/**
 * Shared by the portmap and loopback conformance tests: a private CNI_PATH directory (our
 * portmap/loopback or the reference's, the reference bridge + host-local below), a TCP echo
 * server inside a pod, a one-shot client, an "outside" namespace wired to the node, and the
 * node's port-forwarding rules as text.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { iptablesRules, nftRuleset } from "../observe.js";
import { OURS_BIN, REFERENCE_BIN, TOOL_PATH, type Impl } from "../paths.js";
import type { Pod, SandboxNode } from "../sandbox.js";
import { type Netns, execIn } from "../netns.js";

export interface BinDir {
  dir: string;
  /** Points `portmap` (or another plugin) at one implementation; takes effect on the next call. */
  use(plugin: string, impl: Impl): void;
  remove(): void;
}

export function privateBinDir(choice: Record<string, Impl> = {}): BinDir {
  const dir = mkdtempSync(join(tmpdir(), "cts-portmap-bin-"));
  const use = (plugin: string, impl: Impl): void => {
    const target = impl === "ours" ? join(OURS_BIN, plugin) : join(REFERENCE_BIN, plugin);
    try {
      unlinkSync(join(dir, plugin));
    } catch {
      // first time
    }
    symlinkSync(target, join(dir, plugin));
  };
  for (const p of ["bridge", "host-local"]) use(p, "reference");
  for (const p of ["portmap", "loopback"]) use(p, choice[p] ?? "ours");
  return { dir, use, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const SERVER = `
const net = require("net");
const tag = process.argv[1];
const who = process.argv[3] === "who";
const srv = net.createServer((s) => s.end("pong " + tag + (who ? " from " + s.remoteAddress.replace(/^::ffff:/, "") : "") + "\\n"));
srv.listen(Number(process.argv[2]), "::", () => console.log("ready"));
`;

/**
 * Starts a TCP server in the pod (dual-stack, port `port`) answering "pong TAG", or with
 * `showSource` "pong TAG from CLIENT_ADDRESS"; stopped at teardown.
 */
export async function startServer(
  node: SandboxNode,
  pod: Pod,
  port: number,
  tag = pod.label,
  showSource = false,
): Promise<void> {
  await startProcess(node, pod, ["node", "-e", SERVER, tag, String(port), showSource ? "who" : ""]);
}

/** Runs argv in the pod until teardown; resolves once it prints "ready". */
async function startProcess(node: SandboxNode, pod: Pod, argv: readonly string[]): Promise<void> {
  const child = spawn("ip", ["netns", "exec", pod.name, ...argv], {
    env: { PATH: TOOL_PATH },
    stdio: ["ignore", "pipe", "pipe"],
  });
  node.onTeardown(() => child.kill("SIGKILL"));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server in ${pod.name} did not start`)), 10_000);
    child.stdout.on("data", (b: Buffer) => {
      if (b.toString().includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server in ${pod.name} exited with ${code}`));
    });
  });
}

const UDP_SERVER = `
const dgram = require("dgram");
const tag = process.argv[1];
const sock = dgram.createSocket({ type: "udp6", ipv6Only: false });
sock.on("message", (msg, rinfo) => sock.send("pong " + tag, rinfo.port, rinfo.address));
sock.bind(Number(process.argv[2]), "::", () => console.log("ready"));
`;

/** Starts a UDP echo server in the pod (dual-stack) answering "pong TAG"; stopped at teardown. */
export async function startUdpServer(node: SandboxNode, pod: Pod, port: number, tag = pod.label): Promise<void> {
  await startProcess(node, pod, ["node", "-e", UDP_SERVER, tag, String(port)]);
}

const UDP_CLIENT = `
const dgram = require("dgram");
const [host, port, ms, src] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
if (src) sock.bind(src);
const deadline = Date.now() + ms;
sock.on("message", (m) => { process.stdout.write(m.toString()); process.exit(0); });
const send = () => {
  if (Date.now() > deadline) { process.stdout.write("ERR timeout"); process.exit(0); }
  sock.send("ping", port, host, () => undefined);
  setTimeout(send, 300);
};
send();
`;

/**
 * Sends UDP datagrams from inside `from` until a reply arrives; returns it or "ERR timeout".
 * `sourcePort` fixes the client's port, as a DNS or syslog client that keeps one socket would.
 */
export async function udpQuery(
  from: Netns,
  host: string,
  port: number,
  patienceMs = 4000,
  sourcePort = 0,
): Promise<string> {
  const argv = ["node", "-e", UDP_CLIENT, host, String(port), String(patienceMs), String(sourcePort)];
  const r = await execIn(from, argv, { check: false, timeoutMs: 30_000 });
  return r.stdout.trim() || `ERR exit ${r.status}: ${r.stderr.trim()}`;
}

const CLIENT = `
const net = require("net");
const [host, port, ms] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const deadline = Date.now() + ms;
const attempt = () => {
  const s = net.connect({ host, port, timeout: 1000 });
  let got = "";
  s.on("data", (d) => (got += d));
  s.on("end", () => { process.stdout.write(got.trim()); process.exit(0); });
  const retry = (why) => { s.destroy(); if (Date.now() > deadline) { process.stdout.write("ERR " + why); process.exit(0); } setTimeout(attempt, 200); };
  s.on("timeout", () => retry("timeout"));
  s.on("error", (e) => retry(e.code));
};
attempt();
`;

/**
 * Connects from inside `from` to host:port and returns the reply ("pong a") or "ERR <why>".
 * `patienceMs` retries cover IPv6 duplicate address detection right after ADD; pass a small
 * value when a refusal is expected.
 */
export async function connect(
  node: SandboxNode,
  from: Netns,
  host: string,
  port: number,
  patienceMs = 4000,
): Promise<string> {
  const argv = ["node", "-e", CLIENT, host, String(port), String(patienceMs)];
  const r = await execIn(from, argv, { check: false, timeoutMs: 30_000 });
  return r.stdout.trim() || `ERR exit ${r.status}: ${r.stderr.trim()}`;
}

/**
 * A namespace outside the node (a client on the LAN): a veth to the node with `subnet(index)` .1
 * on the node side and .2 on the client side (and the same for subnet6(index)). Returns the node's
 * addresses.
 */
export async function addOutsideClient(
  node: SandboxNode,
  label = "ext",
  index = 2,
): Promise<{ ns: Pod; nodeV4: string; nodeV6: string }> {
  const ns = await node.addPod(label);
  const base4 = `${node.subnet(index).split(".").slice(0, 3).join(".")}.`;
  const base6 = node.subnet6(index).replace(/::\/64$/, "::");
  const hostSide = node.uniqueName("ext");
  await node.exec(["ip", "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", ns.path]);
  await node.exec(["ip", "-batch", "-"], {
    input:
      [
        `addr add ${base4}1/24 dev ${hostSide}`,
        `addr add ${base6}1/64 dev ${hostSide} nodad`,
        `link set ${hostSide} up`,
      ].join("\n") + "\n",
  });
  await node.execInPod(ns, ["ip", "-batch", "-"], {
    input:
      [
        `addr add ${base4}2/24 dev eth0`,
        `addr add ${base6}2/64 dev eth0 nodad`,
        "link set eth0 up",
        "link set lo up",
        `route add default via ${base4}1`,
        `route add default via ${base6}1`,
      ].join("\n") + "\n",
  });
  return { ns, nodeV4: `${base4}1`, nodeV6: `${base6}1` };
}

/** Every iptables (v4 + v6) and nft line of the node that belongs to port forwarding. */
export async function forwardingRules(node: SandboxNode): Promise<string[]> {
  const ipt = [...(await iptablesRules(node, 4)).split("\n"), ...(await iptablesRules(node, 6)).split("\n")];
  const nft = (await nftRuleset(node)).split("\n");
  return [...ipt.filter((l) => /CNI-(DN|HOSTPORT|SN)-/.test(l)), ...nft.filter((l) => /comment "cts-/.test(l))];
}

/** Lines that name one container: its CNI-DN chain (by hash, which the caller passes) or its id. */
export function rulesOf(lines: readonly string[], containerId: string, chain: string): string[] {
  return lines.filter(
    (l) => l.includes(chain) || l.includes(`"${containerId}"`) || l.includes(`id: \\"${containerId}\\"`),
  );
}

const GUARD_COMMENT = "cni-ts portmap: drop martian traffic to 127.0.0.0/8 (route_localnet)";
/** The guard's iptables rule as nft shows it (iptables-nft's comment match is not printed). */
const GUARD_AS_NFT = /^\t\tiifname != "lo" ip saddr != 127\.0\.0\.0\/8 ip daddr 127\.0\.0\.0\/8 .*drop$/;
const isGuard = (l: string) => l.includes(GUARD_COMMENT) || GUARD_AS_NFT.test(l);

/**
 * A captured state without portmap's localnet guard (ours alone; tested on its own): the guard
 * rule, its nft chain, and the iptables filter table (iptables-save's block, iptables-nft's
 * `table ip filter`) when it holds nothing else — the guard created it; a real node always has one.
 */
export function withoutLocalnetGuard(state: { iptables?: string[]; nft?: string[] }): {
  iptables?: string[];
  nft?: string[];
} {
  const out = { ...state };
  if (out.iptables)
    out.iptables = withoutBlock(
      out.iptables,
      "*filter",
      (l) => l === "COMMIT",
      (l) => l.startsWith("-A "),
    );
  if (out.nft) {
    const nft = withoutBlock(
      out.nft,
      "\tchain localnet_guard {",
      (l) => l === "\t}",
      () => false,
    );
    out.nft = withoutBlock(
      nft,
      "table ip filter {",
      (l) => l === "}",
      (l) => l.startsWith("\t\t") && !l.startsWith("\t\ttype "),
    );
  }
  return out;
}

/** Guard lines removed; the block from `open` to `closes` removed whole when it has no other rule. */
function withoutBlock(
  lines: readonly string[],
  open: string,
  closes: (l: string) => boolean,
  isRule: (l: string) => boolean,
): string[] {
  const kept = lines.filter((l) => !isGuard(l));
  const start = kept.indexOf(open);
  if (start < 0) return kept;
  let end = start + 1;
  while (end < kept.length && !closes(kept[end]!)) end++;
  if (kept.slice(start + 1, end).some(isRule)) return kept;
  return [...kept.slice(0, start), ...kept.slice(end + 1)];
}
