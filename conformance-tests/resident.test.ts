/**
 * The resident service (`cni-ts serve`): the plugin executables hand their calls to it and relay
 * its answers, with the same results as running the calls themselves; when it cannot serve a call
 * (other build, other mount namespace, stopped, gone) the plugin runs the call itself. The
 * service and the libcni client run in the sandbox node's network namespace through
 * `nsenter --net` (same mount namespace, as containerd and the service share the host's);
 * `ip netns exec` makes a mount namespace of its own, which the service must decline.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type CallOptions, type CniOutcome, cnitoolEnv, expectOk, toOutcome } from "./lib/cni-calls.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { CNITOOL, OURS_BIN, TOOL_PATH, requireOursBuilt } from "./lib/paths.js";
import { buildTestBin } from "../scripts/soak-lib/campaign.js";
import { parsePrometheusText } from "./lib/prometheus-text.js";
import { runCommand } from "./lib/run-command.js";
import type { Pod, SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";

/** A test build (fault points; another build id than dist/bin): this process's copy of dist/test-bin. */
let TEST_BIN = "";

beforeAll(async () => {
  requireOursBuilt();
  TEST_BIN = buildTestBin();
  await ensureCnitool();
});

interface Service {
  socket: string;
  pid: number;
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

/** Starts `cni-ts serve` in the node's network namespace (this process's mount namespace). */
async function startService(
  node: SandboxNode,
  bin = OURS_BIN,
  socket = join(node.workDir, "rs", "plugins.sock"),
  env: Record<string, string> = {},
) {
  const child = spawn("nsenter", [`--net=${node.path}`, "--", join(bin, "cni-ts"), "serve", "--socket", socket], {
    env: { PATH: TOOL_PATH, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  node.onTeardown(() => child.kill("SIGKILL"));
  for (let i = 0; i < 200 && !log.includes("listening"); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { socket, pid: child.pid!, child, log: () => log, exited } satisfies Service;
}

/** The libcni client in the node's network namespace without a mount namespace of its own. */
async function cnitool(
  node: SandboxNode,
  verb: "add" | "check" | "del",
  network: string,
  pod: Pod,
  env: Record<string, string>,
  opts: CallOptions = {},
): Promise<CniOutcome> {
  const base = cnitoolEnv({
    confDir: node.confDir,
    cniPath: node.cniPath,
    containerId: pod.containerId,
    opts,
    toolPath: TOOL_PATH,
  });
  return toOutcome(
    await runCommand(
      ["nsenter", `--net=${node.path}`, "--", CNITOOL, "-cache-dir", node.cacheDir, verb, network, pod.path],
      {
        env: { ...base, ...env },
        check: false,
        timeoutMs: 60_000,
      },
    ),
  );
}

/** bridge + host-local, then portmap: what each pod gets, with its own bridge and subnet. */
function writeChain(node: SandboxNode): string {
  const network = node.uniqueName("rs-");
  node.writeConflist({
    cniVersion: "1.0.0",
    name: network,
    plugins: [
      {
        type: "bridge",
        bridge: node.uniqueName("rsbr"),
        isGateway: true,
        ipMasq: true,
        ipam: { type: "host-local", dataDir: node.dataDir, ranges: [[{ subnet: node.subnet() }]] },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
    ],
  });
  return network;
}

interface TraceLine {
  pid: number;
  plugin: string;
  verb: string;
  resident?: boolean;
  error?: unknown;
}
const traceLines = (file: string): TraceLine[] =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as TraceLine)
    : [];

/** The result without what differs between any two pods: netns path, MACs, veth names, the address. */
function shape(result: unknown, pod: Pod): unknown {
  return JSON.parse(
    JSON.stringify(result)
      .replaceAll(pod.path, "POD")
      .replace(/"mac":"[0-9a-f:]+"/g, '"mac":"M"')
      .replace(/veth[0-9a-f]{8}/g, "vethX")
      .replace(/"address":"[0-9.]+\/24"/g, '"address":"A"'),
  ) as unknown;
}

describe("resident service", () => {
  const sandbox = useSandbox();

  /** A node with the bridge chain and a service; `served` hands calls to it with the debug trace on. */
  async function servedChain() {
    const node = await sandbox.node();
    const network = writeChain(node);
    const service = await startService(node);
    const trace = join(node.workDir, "trace.log");
    return { node, network, service, trace, served: { CNI_TS_SOCKET: service.socket, CNI_TS_DEBUG_LOG: trace } };
  }

  it("serves ADD, CHECK and DEL of a chain with the results a plugin process gives, hostPorts included", async () => {
    const { node, network, service, trace, served } = await servedChain();
    expect(service.log()).toContain("listening");
    const plain = { CNI_TS_SOCKET: "off" };
    const ports = { capArgs: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }] } };
    const [a, b] = [await node.addPod("a"), await node.addPod("b")];

    const viaService = expectOk(await cnitool(node, "add", network, a, served, ports));
    const inProcess = expectOk(await cnitool(node, "add", network, b, plain, ports));
    expect(shape(viaService, a)).toEqual(shape(inProcess, b));
    expectOk(await cnitool(node, "check", network, a, served, ports));
    const nat = await node.exec(["iptables-save", "-t", "nat"]);
    for (const pod of [a, b]) expect(nat.stdout).toContain(pod.containerId);

    const lines = traceLines(trace);
    expect(lines.map((l) => `${l.plugin} ${l.verb}`)).toEqual([
      "bridge ADD",
      "portmap ADD",
      "bridge CHECK",
      "portmap CHECK",
    ]);
    for (const l of lines) expect(l).toMatchObject({ resident: true, pid: service.pid });

    expectOk(await cnitool(node, "del", network, a, served, ports));
    expectOk(await cnitool(node, "del", network, b, plain, ports));
    const after = await node.exec(["iptables-save", "-t", "nat"]);
    for (const pod of [a, b]) expect(after.stdout).not.toContain(pod.containerId);
    expect(traceLines(trace).filter((l) => l.verb === "DEL")).toHaveLength(2);
    expect(traceLines(trace).every((l) => l.resident === true)).toBe(true);
  });

  it("a served DEL answers once the pod's link is gone, back to back too: nothing left in either namespace or the store", async () => {
    const { node, network, service, trace, served } = await servedChain();
    const pods = [await node.addPod("a"), await node.addPod("b"), await node.addPod("c")];
    for (const pod of pods) expectOk(await cnitool(node, "add", network, pod, served));
    const store = join(node.dataDir, network);
    const reservations = () => readdirSync(store).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    expect(reservations()).toHaveLength(3);

    // Back to back: the second and third DEL arrive while the kernel may still be releasing the
    // first pair (the deleting thread busy), and take the calling thread's path.
    for (const [i, pod] of pods.entries()) {
      expectOk(await cnitool(node, "del", network, pod, served));
      const links = await runCommand(["nsenter", `--net=${pod.path}`, "--", "ip", "-o", "link", "show"], {
        env: { PATH: TOOL_PATH },
      });
      expect(links.stdout).not.toContain("eth0");
      expect(reservations()).toHaveLength(2 - i);
    }
    const veths = await node.exec(["ip", "-o", "link", "show", "type", "veth"]);
    expect(veths.stdout.trim()).toBe("");
    const dels = traceLines(trace).filter((l) => l.verb === "DEL");
    expect(dels.map((l) => `${l.plugin} ${l.resident} ${l.pid}`)).toEqual(
      pods.flatMap(() => [`portmap true ${service.pid}`, `bridge true ${service.pid}`]),
    );
    expect(service.log()).not.toContain("deletions stay in the calling thread");
  });

  it("declines a call of another build or from another mount namespace, and the plugin runs it itself", async () => {
    const { node, network, service, trace, served: env } = await servedChain();
    const [a, b] = [await node.addPod("a"), await node.addPod("b")];

    // dist/test-bin is another build of the same source.
    const otherBuild = { ...env, CNI_PATH: TEST_BIN };
    expectOk(await cnitool(node, "add", network, a, otherBuild));
    // `ip netns exec` gives the client a mount namespace of its own.
    expectOk(await node.cnitool("add", network, b, { env }));
    expect(service.log()).toContain("declined a call: the service is build");
    expect(service.log()).toContain("declined a call: the client is in another network or mount namespace");
    const lines = traceLines(trace);
    expect(lines).toHaveLength(4);
    for (const l of lines) {
      expect(l.resident).toBeUndefined();
      expect(l.pid).not.toBe(service.pid);
    }
    expectOk(await cnitool(node, "del", network, a, otherBuild));
    expectOk(await node.cnitool("del", network, b, { env }));
  });

  it("stops on SIGTERM and removes its socket; a stale socket is replaced, a live one is not taken over", async () => {
    const node = await sandbox.node();
    const network = writeChain(node);
    const first = await startService(node);
    const second = await startService(node, OURS_BIN, first.socket);
    expect(await second.exited).toBe(1);
    expect(second.log()).toContain("another service is already listening");

    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(existsSync(first.socket)).toBe(false);
    const a = await node.addPod("a");
    const trace = join(node.workDir, "trace.log");
    expectOk(await cnitool(node, "add", network, a, { CNI_TS_SOCKET: first.socket, CNI_TS_DEBUG_LOG: trace }));
    expect(traceLines(trace)[0]?.resident).toBeUndefined();

    // A service killed outright leaves its socket file behind; the next one replaces it.
    const killed = await startService(node);
    killed.child.kill("SIGKILL");
    await killed.exited;
    expect(existsSync(killed.socket)).toBe(true);
    const next = await startService(node);
    expect(next.log()).toContain("listening");
    expectOk(await cnitool(node, "del", network, a, { CNI_TS_SOCKET: next.socket, CNI_TS_DEBUG_LOG: trace }));
    expect(traceLines(trace).at(-1)).toMatchObject({ verb: "DEL", resident: true, pid: next.pid });
  });

  it("a service that dies during a call fails that call with code 11 (never runs it twice); DEL then cleans up", async () => {
    const node = await sandbox.node({ cniPath: [TEST_BIN] });
    const network = writeChain(node);
    // A test build kills itself at a fault point: here the service, once the pod's address is reserved.
    const service = await startService(node, TEST_BIN, undefined, { CNI_TS_FAULT: "delegate:host-local.ADD:after" });
    const a = await node.addPod("a");
    const trace = join(node.workDir, "trace.log");
    const env = { CNI_TS_SOCKET: service.socket, CNI_TS_DEBUG_LOG: trace };
    const add = await cnitool(node, "add", network, a, env);
    expect(add.ok).toBe(false);
    expect(add.stderr).toContain("cni-ts resident service");
    expect(await service.exited).toBe(null);
    expect(traceLines(trace)).toEqual([]);
    // The call did start: the address is taken until DEL, which now runs in the plugin process.
    expectOk(await cnitool(node, "del", network, a, env));
    expect(traceLines(trace)).toMatchObject([
      { verb: "DEL", plugin: "portmap" },
      { verb: "DEL", plugin: "bridge" },
    ]);
    expect(traceLines(trace)[0]?.resident).toBeUndefined();
  });

  it("stops when an upgrade replaces its executable, after declining the call that noticed", async () => {
    const bin = join((await sandbox.node()).workDir, "bin");
    const node = await sandbox.node({ cniPath: [bin] });
    mkdirSync(bin);
    copyFileSync(join(OURS_BIN, "cni-ts"), join(bin, "cni-ts"));
    for (const name of ["bridge", "host-local", "portmap"]) linkSync(join(bin, "cni-ts"), join(bin, name));
    const network = writeChain(node);
    const service = await startService(node, bin);
    const trace = join(node.workDir, "trace.log");
    const env = { CNI_TS_SOCKET: service.socket, CNI_TS_DEBUG_LOG: trace };
    const [a, b] = [await node.addPod("a"), await node.addPod("b")];
    expectOk(await cnitool(node, "add", network, a, env));
    copyFileSync(join(bin, "cni-ts"), join(bin, "cni-ts.new"));
    renameSync(join(bin, "cni-ts.new"), join(bin, "cni-ts"));
    expectOk(await cnitool(node, "add", network, b, env));
    expect(await service.exited).toBe(0);
    expect(service.log()).toContain("its executable was replaced");
    expect(traceLines(trace).map((l) => l.resident ?? false)).toEqual([true, true, false, false]);
    for (const pod of [a, b]) expectOk(await cnitool(node, "del", network, pod, env));
  });

  it("a service killed at any point of an ADD leaves nothing behind once the runtime's DEL ran", async () => {
    const node = await sandbox.node({ cniPath: [TEST_BIN] });
    const network = writeChain(node);
    const socket = join(node.workDir, "rs", "plugins.sock");
    const points = join(node.workDir, "points.log");
    const ports = { capArgs: { portMappings: [{ hostPort: 18081, containerPort: 80, protocol: "tcp" }] } };
    const env = { CNI_TS_SOCKET: socket };
    // The node's first ADD builds the bridge and chains; the points are those of a warm ADD.
    let service = await startService(node, TEST_BIN, socket, { CNI_TS_FAULT_LOG: points });
    const warm = await node.addPod("w");
    expectOk(await cnitool(node, "add", network, warm, env, ports));
    writeFileSync(points, "");
    const probe = await node.addPod("p");
    expectOk(await cnitool(node, "add", network, probe, env, ports));
    // Names that carry an address or a counter differ per pod: match them as prefixes.
    const seen = readFileSync(points, "utf8")
      .trim()
      .split("\n")
      .map((p) => p.replace(/:[0-9a-f.:]+$/, ":*").replace(/#\d+.*$/, "#*"));
    const unique = [...new Set(seen)];
    expect(unique.length).toBeGreaterThan(5);
    for (const pod of [warm, probe]) expectOk(await cnitool(node, "del", network, pod, env, ports));
    service.child.kill("SIGKILL");
    await service.exited;

    for (const [i, point] of unique.entries()) {
      service = await startService(node, TEST_BIN, socket, { CNI_TS_FAULT: point });
      const pod = await node.addPod(`f${i}`);
      const add = await cnitool(node, "add", network, pod, env, ports);
      expect(add.ok, `ADD killed at ${point}`).toBe(false);
      expect(await service.exited, point).toBe(null);
      expectOk(await cnitool(node, "del", network, pod, env, ports), `DEL after ${point}`);
      const store = readdirSync(join(node.dataDir, network)).filter((f) => /^[0-9]/.test(f));
      expect(store, `reservations after ${point}`).toEqual([]);
      for (const table of ["nat", "filter"]) {
        const rules = (await node.exec(["iptables-save", "-t", table])).stdout;
        expect(rules.includes(pod.containerId), `${table} rules of ${pod.containerId} after ${point}`).toBe(false);
      }
      const veths = (await node.exec(["ip", "-o", "link", "show", "type", "veth"])).stdout.trim();
      expect(veths, `veths after ${point}`).toBe("");
    }
  });

  it("doctor says whether a service serves this node's calls, declines them, or is a dead socket", async () => {
    const node = await sandbox.node();
    const socket = join(node.workDir, "rs", "plugins.sock");
    const doctor = async () => {
      const r = await runCommand(
        ["nsenter", `--net=${node.path}`, "--", join(OURS_BIN, "cni-ts"), "doctor", "--json", "--socket", socket],
        { env: { PATH: TOOL_PATH }, check: false, timeoutMs: 60_000 },
      );
      const report = JSON.parse(r.stdout) as { findings: Array<{ area: string; severity: string; message: string }> };
      return report.findings.filter((f) => f.area === "resident");
    };
    expect(await doctor()).toMatchObject([
      { severity: "info", message: expect.stringContaining("no resident service") },
    ]);
    const ours = await startService(node, OURS_BIN, socket);
    expect(await doctor()).toMatchObject([{ severity: "info", message: expect.stringContaining("serves this node") }]);
    ours.child.kill("SIGKILL");
    await ours.exited;
    expect(await doctor()).toMatchObject([
      { severity: "warning", message: expect.stringContaining("nothing answers") },
    ]);
    await startService(node, TEST_BIN, socket);
    expect(await doctor()).toMatchObject([{ severity: "warning", message: expect.stringContaining("declines") }]);
  });

  it("metrics count the calls served and declined, by reason", async () => {
    const node = await sandbox.node();
    const network = writeChain(node);
    const service = await startService(node);
    const metrics = async () => {
      const r = await runCommand(
        [
          "nsenter",
          `--net=${node.path}`,
          "--",
          join(OURS_BIN, "cni-ts"),
          "metrics",
          "--socket",
          service.socket,
          "--conf-dir",
          node.confDir,
          "--cache-dir",
          node.cacheDir,
        ],
        { env: { PATH: TOOL_PATH }, timeoutMs: 60_000 },
      );
      const families = parsePrometheusText(r.stdout);
      const value = (name: string, labels: Record<string, string> = {}) =>
        families.get(name)?.samples.find((x) => JSON.stringify(x.labels) === JSON.stringify(labels))?.value;
      return { value };
    };
    expect((await metrics()).value("cni_ts_resident_calls_served_total")).toBe(0);
    const [a, b] = [await node.addPod("a"), await node.addPod("b")];
    const env = { CNI_TS_SOCKET: service.socket };
    expectOk(await cnitool(node, "add", network, a, env)); // bridge + portmap: 2 served
    expectOk(await node.cnitool("add", network, b, { env })); // another mount namespace: 2 declined
    const m = await metrics();
    expect(m.value("cni_ts_resident_up")).toBe(1);
    expect(m.value("cni_ts_resident_calls_served_total")).toBe(2);
    expect(m.value("cni_ts_resident_calls_declined_total", { reason: "namespace" })).toBe(2);
    for (const pod of [a, b]) expectOk(await cnitool(node, "del", network, pod, { CNI_TS_SOCKET: "off" }));
    service.child.kill("SIGKILL");
    await service.exited;
    expect((await metrics()).value("cni_ts_resident_up")).toBe(0);
  });

  it("answers a malformed request with a refusal and keeps serving", async () => {
    const node = await sandbox.node();
    const service = await startService(node);
    const answer = await new Promise<string>((resolve, reject) => {
      let got = "";
      const c = createConnection(service.socket);
      c.on("connect", () => c.write('{"build":42}\n'));
      c.on("data", (d) => (got += d.toString()));
      c.on("close", () => resolve(got));
      c.on("error", reject);
    });
    expect(JSON.parse(answer)).toEqual({ status: "declined", reason: "malformed request" });
    const network = writeChain(node);
    const a = await node.addPod("a");
    const trace = join(node.workDir, "trace.log");
    expectOk(await cnitool(node, "add", network, a, { CNI_TS_SOCKET: service.socket, CNI_TS_DEBUG_LOG: trace }));
    expect(traceLines(trace)[0]).toMatchObject({ resident: true });
    expectOk(await cnitool(node, "del", network, a, { CNI_TS_SOCKET: service.socket }));
  });
});
