/**
 * The run matrix: every conformance test runs for these cniVersions where the verb exists.
 * 0.3.1 is what kube-flannel ships. Debian's libcni (and the Go reference plugins built with it)
 * stop at 1.0.0, so 1.1.0 goes through the direct runtime and has no reference twin.
 */
import type { CallOptions, CniOutcome } from "./cni-calls.js";
import { directAdd, directCheck, directDel } from "./runtimes/direct.js";
import type { Impl } from "./paths.js";
import type { Pod, SandboxNode } from "./sandbox.js";
import { compareVersions } from "./spec-version.js";

export const SPEC_VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];

/** Highest version Debian's libcni 1.1.2 and the reference plugins 1.1.1 understand. */
export const LIBCNI_MAX = "1.0.0";

export type Verb = "ADD" | "DEL" | "CHECK" | "GC" | "STATUS";

export { compareVersions };

/** Whether the spec version defines the verb (CHECK since 0.4.0, GC/STATUS since 1.1.0). */
export function verbExists(version: string, verb: Verb): boolean {
  if (verb === "CHECK") return compareVersions(version, "0.4.0") >= 0;
  if (verb === "GC" || verb === "STATUS") return compareVersions(version, "1.1.0") >= 0;
  return true;
}

/** Versions of the matrix in which every given verb exists. */
export function versionsFor(...verbs: Verb[]): SpecVersion[] {
  return SPEC_VERSIONS.filter((v) => verbs.every((verb) => verbExists(v, verb)));
}

/** Whether a version can be driven through libcni (cnitool) and has a reference twin. */
export function viaLibcni(version: string): boolean {
  return compareVersions(version, LIBCNI_MAX) <= 0;
}

/** Whether the implementation can run this version at all (the reference stops at 1.0.0). */
export function implSupports(impl: Impl, version: string): boolean {
  return impl === "ours" || viaLibcni(version);
}

/** A CNI client for one version: libcni (cnitool) up to 1.0.0, the direct runtime above. */
export interface CniClient {
  readonly kind: "libcni" | "direct";
  add(network: string, pod: Pod, opts?: CallOptions): Promise<CniOutcome>;
  check(network: string, pod: Pod, opts?: CallOptions): Promise<CniOutcome>;
  del(network: string, pod: Pod, opts?: CallOptions): Promise<CniOutcome>;
}

export function clientFor(node: SandboxNode, version: string): CniClient {
  if (viaLibcni(version)) {
    return {
      kind: "libcni",
      add: (net, pod, opts) => node.cnitool("add", net, pod, opts),
      check: (net, pod, opts) => node.cnitool("check", net, pod, opts),
      del: (net, pod, opts) => node.cnitool("del", net, pod, opts),
    };
  }
  return {
    kind: "direct",
    add: (net, pod, opts) => directAdd(node, net, pod, opts),
    check: (net, pod, opts) => directCheck(node, net, pod, opts),
    del: (net, pod, opts) => directDel(node, net, pod, opts),
  };
}
