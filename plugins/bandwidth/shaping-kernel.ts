/**
 * Every kernel call bandwidth makes, in one module. Links go through the suite's kernel layer
 * (shared/net/kernel.ts: rtnetlink in this process under Bun, one `ip -batch` where there is no
 * FFI): the pod veth's peer index (a link read inside the pod's namespace), the ifb device
 * (created, or an earlier one of the same attachment reused), its deletion and the ifb listing of
 * GC; and the tbf qdiscs, the ingress qdisc, the redirect filter and CHECK's reads of them (typed
 * tc steps and queries of the same layer, traced as their `tc` lines). Host link facts come from
 * sysfs (else the same layer's link dump). Still one `tc -batch` per change or read: the htb of
 * subnet lists and CHECK's reads of it.
 */
import { readFileSync } from "node:fs";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { type BatchLine, BatchLineError, EXISTS, GONE, parseJsonStream, runBatch } from "../../shared/net/batch.js";
import { kernel, KernelStepError, type TcOp, tcKernel, type TcQuery } from "../../shared/net/kernel.js";
import { readSysfsLink, sysfsIsOwn } from "../../shared/net/links.js";
import { tickInUsec } from "./tbf-params.js";

export interface HostLink {
  name: string;
  index: number;
  mtu: number;
  txqlen: number;
}

/** The kernel's ticks per microsecond (/proc/net/psched), which tbf's bucket is counted in. */
export function tick(): number {
  return tickInUsec(readFileSync("/proc/net/psched", "utf8"));
}

/** The host-side ifindex of `ifname`'s veth peer, read inside the pod; undefined when it is no veth. */
export function podPeerIndex(netns: string, ifname: string): { peer?: number; error?: string } {
  const [link] = kernel([], [{ q: "link", dev: ifname }], { netns, what: `reading ${ifname} in ${netns}` });
  if (!link) return { error: "Link not found" };
  return link.linkIndex && link.linkIndex > 0
    ? { peer: link.linkIndex }
    : { error: `${link.kind || "link"} has no peer` };
}

/**
 * The named host links' index, MTU and queue length (missing names are left out): from sysfs when
 * it shows this namespace, else from one dump of every link.
 */
export function hostLinks(names: readonly string[]): Map<string, HostLink> {
  const out = new Map<string, HostLink>();
  if (sysfsIsOwn()) {
    for (const name of names) {
      if (readSysfsLink(name) === undefined) continue;
      try {
        const read = (f: string) => Number(readFileSync(`/sys/class/net/${name}/${f}`, "utf8").trim());
        out.set(name, { name, index: read("ifindex"), mtu: read("mtu"), txqlen: read("tx_queue_len") });
      } catch {
        // gone between the two reads
      }
    }
    return out;
  }
  const [links] = kernel([], [{ q: "links" }], { what: "listing the node's links" });
  for (const l of links) {
    if (names.includes(l.ifname)) out.set(l.ifname, { name: l.ifname, index: l.ifindex, mtu: l.mtu, txqlen: l.txqlen });
  }
  return out;
}

/** Runs `f`; a step the kernel refuses is worded as bandwidth's errors ("WHAT: LINE: REASON"). */
function worded<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof KernelStepError ? new CniError(ErrorCode.Internal, `${what}: ${e.message}`) : e;
  }
}

/**
 * Creates the ifb device (up, the pod veth's MTU, the given queue length) and returns its MAC. An
 * ifb left by an earlier ADD of the same attachment is reused. `alias` marks it as ours for GC.
 */
export function createIfb(name: string, mtu: number, txqlen: number, alias: string | undefined): string {
  const what = `creating ifb device ${name}`;
  const [link] = worded(what, () =>
    kernel(
      [
        { op: { op: "ifb-add", name, mtu, txqlen }, tolerate: EXISTS },
        // A reused ifb gets the settings of this ADD too.
        { op: { op: "link-set", dev: name, mtu, txqlen, ...(alias && { alias }), up: true } },
      ],
      [{ q: "link", dev: name }],
      { what },
    ),
  );
  if (!link) throw new CniError(ErrorCode.Internal, `${what}: it vanished right after it was set up`);
  return link.address;
}

/** Deletes a link; true when it existed. */
export function deleteLink(name: string): boolean {
  try {
    kernel([{ op: { op: "link-del", dev: name } }], [], { what: `deleting ${name}` });
    return true;
  } catch (e) {
    if (!(e instanceof KernelStepError)) throw e;
    if (GONE.test(e.reason)) return false;
    throw new CniError(
      ErrorCode.Internal,
      `deleting ${name}: ${e.reason}`,
      "delete the device by hand with `ip link del` if it is stuck",
    );
  }
}

/** ifb devices of this node: name and alias. */
export function listIfbs(): Array<{ name: string; alias: string }> {
  const [ifbs] = kernel([], [{ q: "links", kind: "ifb" }], { what: "listing ifb devices" });
  return ifbs.map((l) => ({ name: l.ifname, alias: l.alias }));
}

/** Makes the typed qdisc and filter changes: rtnetlink in this process (one `tc -batch` without FFI). */
export function tcChanges(ops: readonly TcOp[], what: string): void {
  worded(what, () =>
    tcKernel(
      ops.map((op) => ({ op })),
      [],
      { what },
    ),
  );
}

/** The qdiscs and ingress filters `queries` ask for, one array per query: rtnetlink reads (one `tc -j` without FFI). */
export function tcReads(queries: readonly TcQuery[], what: string): unknown[][] {
  return [...tcKernel([], queries, { what })];
}

/** One line of a tc batch; `tolerate` matches errors that mean "already done". */
export type TcStep = BatchLine;

/** Runs `tc -batch -` (one process when nothing fails); tolerated failures skip to the next line. */
export function tcSteps(steps: readonly TcStep[], opts: { json?: boolean; raw?: boolean; what: string }): string {
  const argv = opts.json
    ? ["tc", "-j", "-d", "-r", "-batch", "-"]
    : opts.raw
      ? ["tc", "-d", "-r", "-batch", "-"]
      : ["tc", "-batch", "-"];
  return batchSteps(argv, steps, opts.what);
}

/** The shared step runner, its refusals worded as bandwidth's errors ("WHAT: LINE: REASON"). */
function batchSteps(argv: readonly string[], steps: readonly BatchLine[], what: string): string {
  try {
    return runBatch(argv, steps, { what, unnamed: "fail" }).stdout;
  } catch (e) {
    if (e instanceof BatchLineError) throw new CniError(ErrorCode.Internal, `${what}: ${e.message}`);
    throw e;
  }
}

/** What `tc -j -d -r` reports for the qdiscs and filters of the given show lines, one array per line. */
export function tcShow(lines: readonly string[], what: string): unknown[][] {
  return parseJsonStream(
    tcSteps(
      lines.map((line) => ({ line })),
      { json: true, what },
    ),
  );
}

/** What `tc -d -r` prints for the show lines, as text (htb classes have no JSON form in tc 6.1). */
export function tcText(lines: readonly string[], what: string): string {
  return tcSteps(
    lines.map((line) => ({ line })),
    { raw: true, what },
  );
}
