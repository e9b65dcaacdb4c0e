/**
 * The floor of a two-plugin chain (kube-flannel's flannel + portmap): two no-op plugins chained
 * through libcni, once compiled with Go and once with Bun like dist/bin/cni-ts. Whatever our
 * chain costs beyond the Bun floor is our code; whatever the Bun floor costs beyond the Go floor
 * is the runtime, which no change to our code can remove.
 */
import { createHash } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConfList } from "../../conformance-tests/lib/runtimes/direct.js";
import { TOOL_PATH } from "../../conformance-tests/lib/paths.js";
import { runCommand } from "../../conformance-tests/lib/run-command.js";
import type { Pod, SandboxNode } from "../../conformance-tests/lib/sandbox.js";
import { CNI_VERSION, type Chain, cnitoolJob } from "./chains.js";
import { BUILD_FLAGS, type Job } from "./timer.js";

export type NoopRuntime = "go" | "bun";
export const NOOP_RUNTIMES: readonly NoopRuntime[] = ["go", "bun"];
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, "..", "..");
const NAMES = ["noop-first", "noop-chained"];

function sourceHash(): string {
  const h = createHash("sha256").update(BUILD_FLAGS.join(" "));
  for (const f of ["noop.ts", "noop-go/main.go"]) h.update(readFileSync(join(HERE, f)));
  return h.digest("hex").slice(0, 8);
}

/** Builds both no-op plugins (once per source version); returns the directory holding each runtime's pair. */
export async function ensureNoopPlugins(): Promise<Record<NoopRuntime, string>> {
  const base = join(REPO, ".tmp", `bench-noop-${sourceHash()}`);
  const dirs = { go: join(base, "go"), bun: join(base, "bun") };
  if (NAMES.every((n) => existsSync(join(dirs.go, n)) && existsSync(join(dirs.bun, n)))) return dirs;
  rmSync(base, { recursive: true, force: true });
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const env = {
    PATH: TOOL_PATH,
    HOME: process.env.HOME ?? "/root",
    GO111MODULE: "off",
    GOCACHE: join(REPO, ".tmp", "go-build"),
  };
  await runCommand(["go", "build", "-o", join(dirs.go, NAMES[0]!), join(HERE, "noop-go", "main.go")], {
    env,
    timeoutMs: 300_000,
  });
  await runCommand(
    [
      join(REPO, "node_modules", ".bin", "bun"),
      "build",
      ...BUILD_FLAGS,
      join(HERE, "noop.ts"),
      "--outfile",
      join(dirs.bun, NAMES[0]!),
    ],
    {
      env,
      timeoutMs: 120_000,
    },
  );
  for (const d of Object.values(dirs)) linkSync(join(d, NAMES[0]!), join(d, NAMES[1]!));
  return dirs;
}

/** Writes the no-op chain's config list into the node. */
export function setUpNoopChain(node: SandboxNode): Chain {
  const list: ConfList = { cniVersion: CNI_VERSION, name: "bench-noop", plugins: NAMES.map((type) => ({ type })) };
  node.writeConflist(list as ConfList & { name: string });
  return { id: "flannel", network: list.name, list };
}

/** A libcni call of the no-op chain with one runtime's pair on CNI_PATH. */
export function noopJob(node: SandboxNode, chain: Chain, dir: string, verb: "add" | "del", pod: Pod): Job {
  return cnitoolJob(node, chain, verb, pod, { env: { CNI_PATH: dir } });
}
