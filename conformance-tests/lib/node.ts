/**
 * The one node model of the test bed. Every node — a single sandbox node (sandbox.ts's
 * SandboxNode) or a node of a sandbox cluster (cluster/state.ts's NodeState, saved as JSON so the
 * demo can tear it down from another process) — is a `Node`: a network namespace of its own and
 * the directories its runtime uses, all under one directory that teardown removes. A node that runs
 * flannel is a `FlannelNode`. Helpers that need no more than that take these types and so serve
 * both kinds of node.
 */
import { type Netns, execIn, netnsPath } from "./netns.js";
import type { CommandOptions, CommandResult } from "./run-command.js";

export interface Node {
  /** The node's network namespace (its `ip netns` name); plugins and the runtime run inside it. */
  readonly netns: string;
  /** Every file of the node lives under this directory (teardown removes it). */
  readonly dir: string;
  /** The runtime's network configuration directory (NETCONFPATH). */
  readonly confDir: string;
  /** libcni's result cache (CNI_CACHE_DIR). */
  readonly cacheDir: string;
}

/** A node running flannel: where flanneld writes its lease and where flannel and host-local keep state. */
export interface FlannelNode extends Node {
  readonly subnetFile: string;
  readonly flannelDataDir: string;
  readonly ipamDataDir: string;
}

/** The node's namespace as observe.ts and netns.ts take it. */
export function netnsOf(node: Node): Netns {
  return { name: node.netns, path: netnsPath(node.netns) };
}

/** Runs argv inside the node's namespace (`ip netns exec`; env is complete: PATH and LC_ALL are added). */
export function execOnNode(node: Node, argv: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return execIn(netnsOf(node), argv, opts);
}
