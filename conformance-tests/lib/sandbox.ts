/**
 * A sandboxed "node" (a node.ts `Node`): its own network namespace (the runtime's view, where
 * plugins run and the bridge lives), pod namespaces, and private conf/data/cache directories under
 * one temp dir. Nothing here touches the root network namespace; teardown deletes only what was
 * created.
 */
import { createHash, randomBytes } from "node:crypto";
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CallOptions, type CniOutcome, type CniVerb, cnitoolEnv, pluginEnv, toOutcome } from "./cni-calls.js";
import { CNITOOL, type Impl, TOOL_PATH, binDirFor } from "./paths.js";
import { type Netns, createNetns, execIn } from "./netns.js";
import { type Node, execOnNode } from "./node.js";
import type { CommandOptions, CommandResult } from "./run-command.js";
import { forgetLive, registerLive, teardownResources } from "./teardown.js";

export interface Pod extends Netns {
  /** The test's name for the pod ("a", "b", …), the same in twin sandboxes. */
  readonly label: string;
  /** The container id a runtime would use; derived from token + label so twins agree. */
  readonly containerId: string;
}

export interface NodeOptions {
  /** Which plugins run: Debian's Go reference (/usr/lib/cni) or ours (dist/bin). Default "ours". */
  impl?: Impl;
  /** CNI_PATH override (first match wins). */
  cniPath?: string[];
  /**
   * Put the node's private bin dir (node.binDir, for fake plugins) first on CNI_PATH, before the
   * implementation's (or cniPath's) directories.
   */
  privateBin?: boolean;
  /**
   * Shared by twin sandboxes so generated names, subnets and container ids are identical in both.
   * Default: fresh random.
   */
  token?: string;
}

let nodeCounter = 0;

export class SandboxNode implements Netns, Node {
  readonly pods: Pod[] = [];
  readonly dataDir: string;
  readonly confDir: string;
  readonly cacheDir: string;
  /** Scratch space for tests (captured files, generated inputs). */
  readonly workDir: string;
  /** Private plugin directory (fake plugins); on CNI_PATH first when created with privateBin. */
  readonly binDir: string;
  readonly cniPath: string[];
  readonly rootSysctlsAtStart: Record<string, string>;
  private readonly names = new Set<string>();
  private readonly background = new Set<() => void>();
  private tornDown = false;

  constructor(
    readonly impl: Impl,
    readonly name: string,
    readonly path: string,
    readonly dir: string,
    readonly token: string,
    cniPath: string[] | undefined,
    privateBin: boolean,
  ) {
    this.confDir = join(dir, "net.d");
    this.dataDir = join(dir, "data");
    this.cacheDir = join(dir, "cache");
    this.workDir = join(dir, "work");
    this.binDir = join(dir, "bin");
    for (const d of [this.confDir, this.dataDir, this.cacheDir, this.workDir, this.binDir])
      mkdirSync(d, { recursive: true });
    this.cniPath = [...(privateBin ? [this.binDir] : []), ...(cniPath ?? [binDirFor(impl)])];
    this.rootSysctlsAtStart = readRootSysctls();
  }

  /** The node's namespace name (the same as `name`). */
  get netns(): string {
    return this.name;
  }

  /**
   * A name unique to this test (shared with a twin), at most maxLen characters (15 = IFNAMSIZ-1,
   * so it fits a link name). Recorded so teardown can prove no such link appeared in the root netns.
   */
  uniqueName(prefix: string, maxLen = 15): string {
    const name = `${prefix}${this.token}`.slice(0, maxLen);
    this.names.add(name);
    return name;
  }

  /** Names handed out by uniqueName (teardown checks the root netns for them). */
  get uniqueNames(): readonly string[] {
    return [...this.names];
  }

  /** A /24 in 10.0.0.0/8 derived from the token (twins get the same); `index` picks another one. */
  subnet(index = 0): string {
    const h = createHash("sha256").update(`${this.token}/${index}`).digest();
    return `10.${(h[0]! % 250) + 3}.${h[1]!}.0/24`;
  }

  /** An IPv6 /64 (ULA) derived from the token like subnet(). */
  subnet6(index = 0): string {
    const h = createHash("sha256").update(`${this.token}/v6/${index}`).digest("hex");
    return `fd${h.slice(0, 2)}:${h.slice(2, 6)}:${h.slice(6, 10)}:${h.slice(10, 14)}::/64`;
  }

  /** Creates a pod network namespace (empty, lo down, exactly as a runtime hands it to CNI). */
  async addPod(label = String.fromCharCode(97 + this.pods.length)): Promise<Pod> {
    this.assertLive();
    if (!/^[a-z0-9]{1,12}$/.test(label)) throw new Error(`pod label ${JSON.stringify(label)}: use 1-12 of [a-z0-9]`);
    if (this.pods.some((p) => p.label === label)) throw new Error(`pod ${label} already exists in ${this.name}`);
    const ns = await createNetns(`${this.name}-${label}`);
    const pod: Pod = { ...ns, label, containerId: `cts-${this.token}-${label}` };
    this.pods.push(pod);
    return pod;
  }

  /** Writes a config list into this node's conf dir; returns the file path. */
  writeConflist(conf: { name: string } & Record<string, unknown>, fileName = `${conf.name}.conflist`): string {
    const file = join(this.confDir, fileName);
    writeFileSync(file, `${JSON.stringify(conf, null, 2)}\n`);
    return file;
  }

  /** Runs argv inside the node namespace (env is complete: PATH and LC_ALL are added). */
  exec(argv: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
    this.assertLive();
    return execOnNode(this, argv, opts);
  }

  /** Runs argv inside a pod namespace. */
  execInPod(pod: Pod, argv: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
    this.assertLive();
    return execIn(pod, argv, opts);
  }

  /**
   * Runs the libcni client inside the node namespace: `cnitool add|check|del NETWORK POD_NETNS`,
   * with this node's conf dir, CNI_PATH and private result cache. Never throws on a CNI failure:
   * look at `.ok`, `.json` (the result or nothing) and `.stderr` (libcni's error text).
   */
  async cnitool(verb: "add" | "check" | "del", network: string, pod: Pod, opts: CallOptions = {}): Promise<CniOutcome> {
    this.assertLive();
    const env = cnitoolEnv({
      confDir: this.confDir,
      cniPath: this.cniPath,
      containerId: pod.containerId,
      opts,
      toolPath: TOOL_PATH,
    });
    return toOutcome(
      await execIn(this, [CNITOOL, "-cache-dir", this.cacheDir, verb, network, pod.path], {
        env,
        check: false,
        timeoutMs: 110_000,
      }),
    );
  }

  /**
   * Executes one plugin directly with the spec's environment (for GC, STATUS, VERSION and
   * cniVersion 1.1.0, which Debian's libcni cannot drive). `stdin` is sent byte for byte.
   * `pod: null` sends no CNI_NETNS (a DEL after the sandbox is gone).
   */
  async invoke(
    plugin: string,
    verb: CniVerb,
    stdin: string | Buffer | object,
    pod: Pod | null | undefined,
    opts: CallOptions = {},
  ): Promise<CniOutcome> {
    this.assertLive();
    const binary = this.findPlugin(plugin);
    const env = pluginEnv({
      verb,
      netns: pod ? pod.path : undefined,
      cniPath: this.cniPath,
      containerId: pod?.containerId ?? `cts-${this.token}-nopod`,
      opts,
      toolPath: TOOL_PATH,
    });
    const input = typeof stdin === "string" || Buffer.isBuffer(stdin) ? stdin : JSON.stringify(stdin);
    return toOutcome(await execIn(this, [binary], { env, input, check: false, timeoutMs: 110_000 }));
  }

  /** The plugin executable CNI_PATH resolves to (first directory that has it). */
  findPlugin(plugin: string): string {
    for (const dir of this.cniPath) {
      const candidate = join(dir, plugin);
      if (isExecutable(candidate)) return candidate;
    }
    throw new Error(`plugin ${plugin} not found in CNI_PATH ${this.cniPath.join(":")} (did npm run build run?)`);
  }

  /** Registers a stopper for a background process (e.g. a TCP echo server) killed at teardown. */
  onTeardown(stop: () => void): void {
    this.background.add(stop);
  }

  /**
   * Deletes the pods, the node namespace and the temp dir, then verifies that nothing is left:
   * no namespace, no directory, no link with one of this test's unique names in the root netns,
   * and the root netns sysctls the plugins could touch are unchanged. Throws a list of leftovers.
   */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    for (const stop of this.background) {
      try {
        stop();
      } catch {
        // already gone
      }
    }
    forgetLive(this);
    await teardownResources({
      netns: [...this.pods.map((p) => p.name), this.name],
      dir: this.dir,
      uniqueNames: this.uniqueNames,
      rootSysctlsAtStart: this.rootSysctlsAtStart,
      readRootSysctls,
    });
  }

  get isTornDown(): boolean {
    return this.tornDown;
  }

  private assertLive(): void {
    if (this.tornDown) throw new Error(`sandbox ${this.name} was already torn down`);
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Root-netns sysctls a misbehaving plugin would change; compared at teardown. Read, never written. */
const ROOT_SYSCTLS = ["net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"];

function readRootSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ROOT_SYSCTLS) {
    try {
      out[key] = readFileSync(`/proc/sys/${key}`, "utf8").trim();
    } catch {
      out[key] = "(unreadable)";
    }
  }
  return out;
}

/** Creates a sandboxed node: netns `cts-<pid>-<n><rand>`, temp dir with net.d, data, cache, work, bin. */
export async function createNode(opts: NodeOptions = {}): Promise<SandboxNode> {
  if (process.getuid?.() !== 0) {
    throw new Error("conformance tests create network namespaces and need root: run them as root (scripts/test does)");
  }
  const impl = opts.impl ?? "ours";
  const token = opts.token ?? newToken();
  const name = `cts-${process.pid}-${++nodeCounter}${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const ns = await createNetns(name).catch(async (e: Error) => {
    await teardownResources({ netns: [], dir, uniqueNames: [], rootSysctlsAtStart: {}, readRootSysctls });
    throw e;
  });
  const node = new SandboxNode(impl, ns.name, ns.path, dir, token, opts.cniPath, opts.privateBin ?? false);
  registerLive(node);
  // lo up in the node, as on a real host (plugins may talk to local services).
  await node.exec(["ip", "link", "set", "lo", "up"]);
  return node;
}

/** 6 hex characters: short enough for link names like "cb" + token + suffix. */
export function newToken(): string {
  return randomBytes(3).toString("hex");
}
