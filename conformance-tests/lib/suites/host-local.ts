/**
 * Drives host-local executables directly, the way a runtime does (env + stdin), side by side:
 * Debian's Go host-local (the oracle) and ours, inside one sandbox node (sandbox.ts) whose data
 * dir holds the stores. IPAM needs no pod namespace: CNI_NETNS names a plain file of the node's
 * work dir, which neither plugin opens.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, beforeEach } from "vitest";
import { OURS_BIN, REFERENCE_BIN, type Impl, requireOursBuilt } from "../paths.js";
import type { SandboxNode } from "../sandbox.js";
import { useSandbox } from "../use-sandbox.js";

export interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

export interface Call {
  containerId?: string;
  ifname?: string;
  args?: string;
}

export function hostLocal(impl: Impl): string {
  return join(impl === "reference" ? REFERENCE_BIN : OURS_BIN, "host-local");
}

/** host-local alone on a sandbox node: stores under the node's data dir, calls inside its namespace. */
export class IpamSandbox {
  /** The CNI_NETNS both plugins are given (an empty file: host-local never enters it). */
  readonly fakeNetns: string;

  constructor(readonly node: SandboxNode) {
    this.fakeNetns = join(node.workDir, "netns");
    writeFileSync(this.fakeNetns, "");
  }

  /** Scratch space of the test (fault logs and the like). */
  get workDir(): string {
    return this.node.workDir;
  }

  dataDir(label: string): string {
    return join(this.node.dataDir, label);
  }

  async run(impl: Impl, verb: string, conf: object, call: Call = {}): Promise<Outcome> {
    const env: Record<string, string> = {
      CNI_COMMAND: verb,
      CNI_PATH: join(this.node.workDir, "no-plugins"),
    };
    if (verb === "ADD" || verb === "DEL" || verb === "CHECK") {
      env.CNI_CONTAINERID = call.containerId ?? "c1";
      env.CNI_IFNAME = call.ifname ?? "eth0";
      env.CNI_NETNS = this.fakeNetns;
      if (call.args) env.CNI_ARGS = call.args;
    }
    const r = await this.node.exec([hostLocal(impl)], { env, input: JSON.stringify(conf), check: false });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }
}

/** Every file of a store as name -> exact content (lock included, it is empty). */
export function storeFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    if (statSync(join(dir, name)).isFile()) out[name] = readFileSync(join(dir, name), "latin1");
  }
  return out;
}

/**
 * What a runtime acts on: exit status and the JSON payload. Errors compare by code and msg (ours
 * adds cniVersion and details to the error object); results by their JSON value, because Go
 * 1.1.1 (libcni 1.1.2 types) prints 1.0.0 results in struct order with an empty "dns": {}, where
 * v1.9.1 and we sort keys and drop the empty dns.
 */
export function essence(o: Outcome): unknown {
  if (o.status !== 0) {
    const e = JSON.parse(o.stdout) as { code: number; msg: string };
    return { status: o.status, code: e.code, msg: e.msg };
  }
  if (o.stdout === "") return { status: 0 };
  const r = JSON.parse(o.stdout) as Record<string, unknown>;
  if (r.dns && Object.keys(r.dns).length === 0) delete r.dns;
  return { status: 0, result: r };
}

export function ipsOf(o: Outcome): string[] {
  if (o.status !== 0) throw new Error(`plugin failed: ${o.stdout} ${o.stderr}`);
  return (JSON.parse(o.stdout) as { ips: Array<{ address: string }> }).ips.map((i) => i.address);
}

/**
 * Registers the hooks every host-local conformance file needs: built executables, a fresh sandbox
 * node per test (torn down and leak-checked after it by useSandbox).
 */
export function useIpamSandbox(): () => IpamSandbox {
  const scope = useSandbox();
  let sb: IpamSandbox | undefined;
  beforeAll(() => requireOursBuilt(["host-local"]));
  beforeEach(async () => {
    sb = new IpamSandbox(await scope.node());
    return () => {
      sb = undefined;
    };
  });
  return () => {
    if (!sb) throw new Error("the IPAM sandbox exists only inside a test");
    return sb;
  };
}
