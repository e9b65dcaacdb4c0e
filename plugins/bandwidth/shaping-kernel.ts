/**
 * Every kernel call bandwidth makes, in one module so that it can move to netlink as a whole:
 * the pod veth's peer index (one `ip` in the pod), host link facts (sysfs, else one `ip`),
 * the ifb device (one `ip -batch`), and the qdiscs and filter (one `tc -batch` per change or read).
 */
import { readFileSync } from "node:fs";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import {
  type BatchLine,
  BatchLineError,
  EXISTS,
  GONE,
  assertBatchSafe,
  batchReason,
  ipBatch,
  parseJsonStream,
  runBatch,
} from "../../shared/net/batch.js";
import { parseIpLink } from "../../shared/net/ip-json.js";
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
  assertBatchSafe(ifname);
  const r = ipBatch([`link show dev ${ifname}`], {
    netns,
    json: true,
    check: false,
    what: `reading ${ifname} in ${netns}`,
  });
  if (r.status !== 0) return { error: batchReason(r.stderr) || `exit status ${r.status}` };
  const link = parseIpLink(parseJsonStream(r.stdout)[0]?.[0]);
  return link.linkIndex && link.linkIndex > 0 ? { peer: link.linkIndex } : { error: "link not found" };
}

/**
 * The named host links' index, MTU and queue length (missing names are left out): from sysfs when
 * it shows this namespace, else from one `ip -j link show` of every link.
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
  const r = ipBatch(["link show"], { json: true, what: "listing the node's links" });
  for (const l of (parseJsonStream(r.stdout)[0] ?? []).map(parseIpLink)) {
    if (l.ifname && names.includes(l.ifname))
      out.set(l.ifname, { name: l.ifname, index: l.ifindex, mtu: l.mtu, txqlen: l.txqlen });
  }
  return out;
}

/**
 * Creates the ifb device (up, the pod veth's MTU, the given queue length) and returns its MAC. An
 * ifb left by an earlier ADD of the same attachment is reused. `alias` marks it as ours for GC.
 */
export function createIfb(name: string, mtu: number, txqlen: number, alias: string | undefined): string {
  const steps = [
    { line: `link add name ${name} mtu ${mtu} txqueuelen ${txqlen} type ifb`, tolerate: EXISTS },
    { line: `link set dev ${name} mtu ${mtu} txqueuelen ${txqlen} up` },
    ...(alias ? [{ line: `link set dev ${name} alias ${alias}` }] : []),
    { line: `link show dev ${name}` },
  ];
  const out = batchSteps(["ip", "-j", "-batch", "-"], steps, `creating ifb device ${name}`);
  return parseIpLink(parseJsonStream(out).at(-1)?.[0]).address;
}

/** Deletes a link; true when it existed. */
export function deleteLink(name: string): boolean {
  assertBatchSafe(name);
  const r = ipBatch([`link del dev ${name}`], { check: false, what: `deleting ${name}` });
  if (r.status === 0) return true;
  const reason = batchReason(r.stderr);
  if (GONE.test(reason)) return false;
  throw new CniError(
    ErrorCode.Internal,
    `deleting ${name}: ${reason}`,
    "delete the device by hand with `ip link del` if it is stuck",
  );
}

/** ifb devices of this node: name and alias. */
export function listIfbs(): Array<{ name: string; alias: string }> {
  const r = ipBatch(["link show type ifb"], { json: true, details: true, what: "listing ifb devices" });
  return (parseJsonStream(r.stdout)[0] ?? []).map(parseIpLink).map((l) => ({ name: l.ifname, alias: l.alias }));
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
