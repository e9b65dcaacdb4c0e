import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FuzzContext, FuzzPlugin } from "./fuzz-cases.js";
import type { RunnerSpec, RunnerSummary } from "./fuzz-runner.js";
import { diffState, netnsState } from "../../conformance-tests/lib/observe.js";
import { REPO_ROOT } from "../../conformance-tests/lib/paths.js";
import type { SandboxNode } from "../../conformance-tests/lib/sandbox.js";

/** Bun runs the TypeScript runner directly (no build step) inside the node namespace. */
export const BUN = join(REPO_ROOT, "node_modules", ".bin", "bun");
const RUNNER = join(REPO_ROOT, "scripts", "soak-lib", "fuzz-runner.ts");

export interface FuzzSessionResult {
  summary: RunnerSummary;
  /** Lines that changed in the node or pod namespace over the whole session. */
  namespaceChanges: string[];
}

/** The sandbox files a fuzz session needs: a valid subnet.env and a secret that must never leak. */
export function fuzzContext(node: SandboxNode, podNetns: string, cniPath: string): FuzzContext {
  const subnet = node.subnet(7);
  const subnetFile = join(node.workDir, "flannel", "subnet.env");
  mkdirSync(join(node.workDir, "flannel"), { recursive: true });
  writeFileSync(
    subnetFile,
    `FLANNEL_NETWORK=${subnet.replace(/\.\d+\.0\/24$/, ".0.0/16")}\nFLANNEL_SUBNET=${subnet.replace(/\.0\/24$/, ".1/24")}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n`,
  );
  const bad = (name: string, text: string): string => {
    const f = join(node.workDir, "flannel", name);
    writeFileSync(f, text);
    return f;
  };
  const badSubnetFiles = [
    bad("missing-keys.env", "FLANNEL_MTU=1450\n"),
    bad(
      "bad-cidr.env",
      "FLANNEL_NETWORK=10.0.0.0/33\nFLANNEL_SUBNET=10.0.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
    ),
    bad(
      "bad-mtu.env",
      "FLANNEL_NETWORK=10.0.0.0/16\nFLANNEL_SUBNET=10.0.1.1/24\nFLANNEL_MTU=-5\nFLANNEL_IPMASQ=true\n",
    ),
    bad("no-equals.env", "FLANNEL_NETWORK\nFLANNEL_SUBNET\nFLANNEL_MTU\nFLANNEL_IPMASQ\n"),
    bad("empty.env", ""),
    bad("binary.env", "\u0000\u0001\u00ff".repeat(100)),
  ];
  const secret = `SECRET-${node.token}-do-not-print`;
  const secretFile = join(node.workDir, "secret.txt");
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  return {
    sandboxDir: node.dir,
    ipamDataDir: join(node.dataDir, "ipam"),
    flannelDataDir: join(node.dataDir, "flannel"),
    subnetFile,
    secretFile,
    badSubnetFiles,
    regularFile: subnetFile,
    podNetns,
    cniPath,
    bridge: node.uniqueName("fz"),
    subnet,
    token: node.token,
  };
}

/** Runs the runner in the node namespace and proves the namespaces did not change. */
export async function runFuzzSession(
  node: SandboxNode,
  opts: { mode: "inproc" | "exec"; numRuns: number; seed: number; plugins?: FuzzPlugin[]; cniPath?: string },
): Promise<FuzzSessionResult> {
  const pod = node.pods[0] ?? (await node.addPod("fz"));
  const ctx = fuzzContext(node, pod.path, opts.cniPath ?? node.cniPath.join(":"));
  const spec: RunnerSpec = {
    ctx,
    mode: opts.mode,
    numRuns: opts.numRuns,
    seed: opts.seed,
    allowedDirs: [ctx.ipamDataDir, ctx.flannelDataDir, node.cacheDir, join(node.workDir, "home")],
    plugins: opts.plugins,
  };
  const specFile = join(node.workDir, `fuzz-${opts.mode}-${opts.seed}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  const nodeBefore = await netnsState(node);
  const podBefore = await netnsState(pod);
  const r = await node.exec([BUN, RUNNER, specFile], {
    env: { HOME: join(node.workDir, "home") },
    timeoutMs: 900_000,
    check: false,
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    throw new Error(
      `fuzz runner failed (exit ${r.status})\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-4000)}`,
    );
  }
  const summary = JSON.parse(line) as RunnerSummary;
  const namespaceChanges = [
    ...diffState(nodeBefore, await netnsState(node)).map((l) => `node: ${l}`),
    ...diffState(podBefore, await netnsState(pod)).map((l) => `pod: ${l}`),
  ];
  return { summary, namespaceChanges };
}

/** A short, readable account of failures for an assertion message. */
export function describeFailures(s: RunnerSummary, max = 8): string {
  return s.failures
    .slice(0, max)
    .map(
      (f) =>
        `${f.plugin} ${f.verb} [${f.category}] ${JSON.stringify(f.env)} stdin=${JSON.stringify(f.stdin.slice(0, 200))}\n  -> exit ${f.status} ${f.stdout.slice(0, 300)}\n  problems: ${f.problems.join("; ")}`,
    )
    .join("\n");
}
