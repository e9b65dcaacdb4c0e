/**
 * The plugins' one kernel layer for links (bridges, veths, ifbs), addresses and routes. A call is a list of typed steps
 * (changes) and queries; each step renders as the `ip` command line that does the same, carries
 * the upstream error message it fails with and which kernel answers mean "already done". Under
 * Bun the steps are rtnetlink requests made in this process (no process started); where there is
 * no FFI (Node) the same lines run as one `ip -d -j -batch` process (through nsenter for another
 * namespace). The debug trace lists every step as its `ip` line either way. bandwidth's qdiscs and
 * filter are the same kind of typed steps (`tcKernel`), rendered as `tc` lines and run as one
 * `tc -batch` where there is no FFI.
 */
import { openSync, closeSync } from "node:fs";
import { faultPoint } from "../sys/fault.js";
import { SystemError } from "../sys/system-error.js";
import { systemTrace } from "../sys/trace-hook.js";
import { BatchLineError, GONE, parseJsonStream, runBatch } from "./batch.js";
import { waitForEvent } from "./event-wait.js";
import { firstLine } from "./process.js";
import { type LinkInfo, parseLink, parseRoute, type RouteInfo } from "./ip-json.js";
import { NetlinkError, RtnlSocket } from "./netlink/socket.js";
import {
  dumpAddrs,
  dumpLinks,
  dumpRoutes,
  encodeOp,
  getLinkByIndex,
  getLinkByName,
  type KernelOp,
  type NlLink,
  type Resolve,
  parseAddrMessage,
  parseLinkMessage,
  parseRouteMessage,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_LINK,
} from "./netlink/rtnl.js";
import {
  encodeTcOp,
  encodeTcQuery,
  type FilterView,
  parseFilterMessage,
  parseQdiscMessage,
  type QdiscView,
  type TcOp,
  type TcQuery,
  tcLine,
  tcQueryLine,
} from "./netlink/tc.js";
import { errnoText } from "./netlink/wire.js";

export type { KernelOp } from "./netlink/rtnl.js";
export { type FilterView, type QdiscView, type TcOp, type TcQuery, tcLine, tcQueryLine } from "./netlink/tc.js";

/** One change: what it does, which failures mean "already so", and the message any other failure gets. */
export interface KernelStep {
  op: KernelOp;
  tolerate?: RegExp;
  fail?: (reason: string) => Error;
}

/** One tc change (a qdisc or filter), with the same `tolerate` and `fail` as a KernelStep. */
export interface TcKernelStep {
  op: TcOp;
  tolerate?: RegExp;
  fail?: (reason: string) => Error;
}

/**
 * A read: one link, every link (of one kind), a link with its addresses, the ports of a bridge,
 * one port of a bridge by its ifindex (undefined unless it is enslaved to that bridge), the routes
 * via a link.
 */
export type KernelQuery =
  | { q: "link"; dev: string }
  | { q: "links"; kind?: string }
  | { q: "addrs"; dev: string }
  | { q: "ports"; master: string }
  | { q: "port"; master: string; index: number }
  | { q: "routes"; dev: string };

type QueryResult<Q extends KernelQuery> = Q extends { q: "ports" | "links" }
  ? LinkInfo[]
  : Q extends { q: "routes" }
    ? RouteInfo[]
    : LinkInfo | undefined;
export type Results<Qs extends readonly KernelQuery[]> = { [K in keyof Qs]: QueryResult<Qs[K]> };

/** A step the kernel refused (and its `tolerate` did not excuse): which one and the kernel's reason. */
export class KernelStepError extends Error {
  constructor(
    readonly index: number,
    readonly step: KernelStep | TcKernelStep,
    readonly reason: string,
    /** The step's command line (without the tool's name). */
    line: string,
  ) {
    super(`${line}: ${reason}`);
  }

  /** The error the step's owner chose for this failure (its `fail`), else a SystemError with this message. */
  toError(): Error {
    return this.step.fail?.(this.reason) ?? new SystemError(this.message);
  }
}

const onOff = (b: boolean) => (b ? "on" : "off");

/** The `ip` batch line (without the leading "ip") that makes the same change. */
export function ipLine(op: KernelOp): string {
  switch (op.op) {
    case "bridge-add":
      return `link add ${op.name}${op.address ? ` address ${op.address}` : ""}${op.mtu ? ` mtu ${op.mtu}` : ""} type bridge${op.vlanFiltering ? " vlan_filtering 1" : ""}`;
    case "veth-add": {
      const end = (o: { mtu?: number; txqlen?: number; address?: string; netns?: string }) =>
        `${o.mtu ? ` mtu ${o.mtu}` : ""}${o.txqlen !== undefined ? ` txqlen ${o.txqlen}` : ""}${o.address ? ` address ${o.address}` : ""}${o.netns ? ` netns ${o.netns}` : ""}`;
      return `link add ${op.name}${end(op)} type veth peer name ${op.peer.name}${end(op.peer)}`;
    }
    case "ifb-add":
      return `link add ${op.name}${op.mtu ? ` mtu ${op.mtu}` : ""}${op.txqlen !== undefined ? ` txqlen ${op.txqlen}` : ""} type ifb`;
    case "link-set": {
      let line = `link set ${op.dev}`;
      if (op.mtu) line += ` mtu ${op.mtu}`;
      if (op.txqlen !== undefined) line += ` txqlen ${op.txqlen}`;
      if (op.promisc !== undefined) line += ` promisc ${onOff(op.promisc)}`;
      if (op.master !== undefined) line += ` master ${op.master}`;
      if (op.address !== undefined) line += ` address ${op.address}`;
      if (op.alias !== undefined) line += ` alias ${op.alias}`;
      if (op.up !== undefined) line += op.up ? " up" : " down";
      return line;
    }
    case "port-set":
      return `link set ${op.dev} type bridge_slave hairpin ${onOff(op.hairpin)} isolated ${onOff(op.isolated)}`;
    case "link-del":
      return `link del dev ${op.dev}`;
    case "addr-add":
      return `addr add ${op.cidr} dev ${op.dev}`;
    case "addr-del":
      return `addr del ${op.cidr} dev ${op.dev}`;
    case "route-append": {
      let line = `route append ${op.dst}`;
      if (op.gw) line += ` via ${op.gw}`;
      line += ` dev ${op.dev}`;
      if (op.metric) line += ` metric ${op.metric}`;
      if (op.table) line += ` table ${op.table}`;
      if (op.scope !== undefined) line += ` scope ${op.scope}`;
      if (op.mtu) line += ` mtu ${op.mtu}`;
      if (op.advmss) line += ` advmss ${op.advmss}`;
      return line;
    }
  }
}

function queryLine(q: KernelQuery): string {
  switch (q.q) {
    case "link":
      return `link show dev ${q.dev}`;
    case "links":
      return q.kind ? `link show type ${q.kind}` : "link show";
    case "addrs":
      return `addr show dev ${q.dev}`;
    case "ports":
    case "port":
      return `link show master ${q.master}`;
    case "routes":
      return `route show table all dev ${q.dev}`;
  }
}

/** How a step or query shows in the trace: a command line an operator can run as it is. */
export function traceLine(line: string, netns: string | undefined, tool: "ip" | "tc" = "ip"): string {
  return netns ? `nsenter --net=${netns} -- ${tool} ${line}` : `${tool} ${line}`;
}

export interface KernelOptions {
  /** Act inside this network namespace (a path such as /var/run/netns/x or /proc/PID/ns/net). */
  netns?: string;
  /** What the caller was doing, for failures no step explains. */
  what?: string;
}

/**
 * Makes the changes in order (a step whose failure its `tolerate` matches is skipped), then
 * answers the queries. A missing link reads as undefined (no ports, no routes). Throws
 * KernelStepError for a refused step.
 */
export function kernel<const Qs extends readonly KernelQuery[]>(
  steps: readonly KernelStep[],
  queries: Qs,
  opts: KernelOptions = {},
): Results<Qs> {
  const answers = onRtnlSocket(opts.netns, (sock) => {
    const nl = new Netlink(sock, opts.netns);
    steps.forEach((step, i) => nl.step(step, i));
    return queries.map((q) => nl.query(q));
  });
  return (answers ?? viaIp(steps, queries, opts)) as Results<Qs>;
}

/** `use` on a socket opened (in `netns`) for it and closed after; undefined where there is no FFI. */
function onRtnlSocket<T>(netns: string | undefined, use: (sock: RtnlSocket) => T): T | undefined {
  const sock = RtnlSocket.open(netns);
  if (!sock) return undefined;
  try {
    return use(sock);
  } finally {
    sock.close();
  }
}

/**
 * Whether a link named `dev` exists (in `netns`): one request, untraced, for a caller that polls.
 * Undefined where there is no FFI.
 */
export function linkPresent(dev: string, netns?: string): boolean | undefined {
  return onRtnlSocket(netns, (sock) => {
    try {
      return sock.request(getLinkByName(sock.nextSeq(), dev)).length > 0;
    } catch (e) {
      if (e instanceof NetlinkError && GONE.test(errnoText(e.errno))) return false;
      throw e;
    }
  });
}

type TcResult<Q extends TcQuery> = Q extends { q: "qdiscs" } ? QdiscView[] : FilterView[];
export type TcResults<Qs extends readonly TcQuery[]> = { [K in keyof Qs]: TcResult<Qs[K]> };

/**
 * Makes the tc changes in order (a step whose failure its `tolerate` matches is skipped), then
 * answers the queries; throws KernelStepError for a refused step. Without FFI: one `tc -batch`
 * of the same lines (`tc -j -d -r` when there are queries, whose JSON is the views' source).
 */
export function tcKernel<const Qs extends readonly TcQuery[]>(
  steps: readonly TcKernelStep[],
  queries: Qs,
  opts: KernelOptions = {},
): TcResults<Qs> {
  const answers = onRtnlSocket(opts.netns, (sock) => {
    const nl = new Netlink(sock, opts.netns);
    steps.forEach((step, i) => nl.change(step, i, "tc", tcLine(step.op), (seq, r) => encodeTcOp(step.op, seq, r)));
    return queries.map((q) => nl.tcQuery(q));
  });
  return (answers ?? viaTc(steps, queries, opts)) as TcResults<Qs>;
}

function viaTc(steps: readonly TcKernelStep[], queries: readonly TcQuery[], opts: KernelOptions): unknown[][] {
  const lines = [
    ...steps.map((s) => ({ line: tcLine(s.op), tolerate: s.tolerate })),
    ...queries.map((q) => ({ line: tcQueryLine(q), prints: true })),
  ];
  const argv = queries.length > 0 ? ["tc", "-j", "-d", "-r", "-batch", "-"] : ["tc", "-batch", "-"];
  let stdout: string;
  try {
    stdout = runBatch(argv, lines, { netns: opts.netns, what: opts.what, unnamed: "fail" }).stdout;
  } catch (e) {
    if (!(e instanceof BatchLineError)) throw e;
    if (e.index === undefined)
      throw new SystemError(`${opts.what ?? "tc -batch"}: ${firstLine(e.stderr) || `exit ${e.status}`}`);
    if (e.index < steps.length) throw new KernelStepError(e.index, steps[e.index]!, e.reason, e.line ?? "");
    throw new SystemError(`${opts.what ?? "tc"}: ${e.line}: ${e.reason}`);
  }
  const answers = parseJsonStream(stdout);
  return queries.map((_, i) => answers[i] ?? []);
}

/** Changes made by this process (fault points of the crash trials are named after them). */
let changes = 0;

/** One socket's session: names resolved to indexes once, each request traced as its ip line. */
class Netlink {
  private readonly indexes = new Map<string, number>();
  private readonly trace = systemTrace();

  constructor(
    private readonly sock: RtnlSocket,
    private readonly netns: string | undefined,
  ) {}

  step(step: KernelStep, i: number): void {
    this.change(step, i, "ip", ipLine(step.op), (seq, r) => encodeOp(step.op, seq, r));
    if (step.op.op === "link-del") this.indexes.delete(step.op.dev);
  }

  /** One request: sent, its refusal tolerated or thrown as KernelStepError, traced as `tool line`. */
  change(
    step: KernelStep | TcKernelStep,
    i: number,
    tool: "ip" | "tc",
    line: string,
    encode: (seq: number, r: Resolve) => Uint8Array,
  ): void {
    const started = performance.now();
    let status = 0;
    const fds: number[] = [];
    try {
      const msg = encode(this.sock.nextSeq(), {
        index: (name) => this.index(name),
        netnsFd: (path) => {
          const fd = openSync(path, "r");
          fds.push(fd);
          return fd;
        },
      });
      this.sock.request(msg);
      // Crash trials stop the chain after each change, as they do around each process.
      faultPoint(`netlink#${++changes}`);
    } catch (e) {
      const reason = e instanceof NetlinkError ? errnoText(e.errno) : (e as Error).message;
      status = e instanceof NetlinkError ? e.errno : -1;
      if (!(e instanceof NetlinkError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
      if (!step.tolerate?.test(reason)) throw new KernelStepError(i, step, reason, line);
    } finally {
      for (const fd of fds) closeSync(fd);
      this.trace?.kernel(traceLine(line, this.netns, tool), performance.now() - started, status);
    }
  }

  tcQuery(q: TcQuery): QdiscView[] | FilterView[] {
    const started = performance.now();
    let status = 0;
    try {
      const dev = this.index(q.dev);
      const msgs = this.sock.request(encodeTcQuery(q, this.sock.nextSeq(), { index: () => dev }));
      if (q.q === "qdiscs")
        return msgs.map((m) => parseQdiscMessage(m.payload)).flatMap((d) => (d.ifindex === dev ? [d.qdisc] : []));
      return msgs.map((m) => {
        const { filter, toIndex } = parseFilterMessage(m.payload);
        for (const [action, index] of toIndex) action.to_dev = this.name(index);
        return filter;
      });
    } catch (e) {
      if (e instanceof NetlinkError) status = e.errno;
      throw e;
    } finally {
      this.trace?.kernel(
        traceLine(`-j -d -r ${tcQueryLine(q)}`, this.netns, "tc"),
        performance.now() - started,
        status,
      );
    }
  }

  /** The name of the link with this index (its number when there is none, as tc prints it). */
  private name(index: number): string {
    return this.byIndex(index)?.ifname ?? String(index);
  }

  /** The link with this index; undefined when there is none. */
  private byIndex(index: number): NlLink | undefined {
    try {
      const [m] = this.sock.request(getLinkByIndex(this.sock.nextSeq(), index));
      return m ? parseLinkMessage(m.payload) : undefined;
    } catch (e) {
      if (e instanceof NetlinkError && GONE.test(errnoText(e.errno))) return undefined;
      throw e;
    }
  }

  query(q: KernelQuery): LinkInfo | undefined | LinkInfo[] | RouteInfo[] {
    const started = performance.now();
    let status = 0;
    try {
      return this.answer(q);
    } catch (e) {
      if (e instanceof NetlinkError) status = e.errno;
      throw e;
    } finally {
      this.trace?.kernel(traceLine(`-d -j ${queryLine(q)}`, this.netns), performance.now() - started, status);
    }
  }

  private answer(q: KernelQuery): LinkInfo | undefined | LinkInfo[] | RouteInfo[] {
    switch (q.q) {
      case "link":
        return this.link(q.dev);
      case "links": {
        const links = this.sock
          .request(dumpLinks(this.sock.nextSeq(), { kind: q.kind }))
          .map((m) => parseLinkMessage(m.payload));
        const names = new Map(links.map((l) => [l.ifindex, l.ifname]));
        return links
          .filter((l) => q.kind === undefined || l.kind === q.kind)
          .map((l) => plain({ ...l, master: l.masterIndex === undefined ? undefined : names.get(l.masterIndex) }));
      }
      case "addrs": {
        const link = this.link(q.dev);
        if (!link) return undefined;
        for (const m of this.sock.request(dumpAddrs(this.sock.nextSeq(), link.ifindex))) {
          const a = parseAddrMessage(m.payload);
          if (a.index === link.ifindex) link.addrs.push(a.addr);
        }
        return link;
      }
      case "ports": {
        const master = this.link(q.master);
        if (!master) return [];
        const links = this.sock
          .request(dumpLinks(this.sock.nextSeq(), { masterIndex: master.ifindex }))
          .map((m) => parseLinkMessage(m.payload));
        return links.filter((l) => l.masterIndex === master.ifindex).map((l) => plain({ ...l, master: master.ifname }));
      }
      case "port": {
        const master = this.link(q.master);
        const port = master && this.byIndex(q.index);
        return port && port.masterIndex === master.ifindex ? plain({ ...port, master: master.ifname }) : undefined;
      }
      case "routes": {
        const link = this.link(q.dev);
        if (!link) return [];
        return this.sock
          .request(dumpRoutes(this.sock.nextSeq(), link.ifindex))
          .map((m) => parseRouteMessage(m.payload))
          .filter((r) => r.oif === link.ifindex)
          .map((r) => r.route);
      }
    }
  }

  private link(name: string): LinkInfo | undefined {
    let found: NlLink;
    try {
      const [m] = this.sock.request(getLinkByName(this.sock.nextSeq(), name));
      if (!m) return undefined;
      found = parseLinkMessage(m.payload);
    } catch (e) {
      if (e instanceof NetlinkError && GONE.test(errnoText(e.errno))) return undefined;
      throw e;
    }
    this.indexes.set(name, found.ifindex);
    if (found.masterIndex !== undefined) found.master = this.byIndex(found.masterIndex)?.ifname;
    return plain(found);
  }

  private index(name: string): number {
    let i = this.indexes.get(name);
    if (i === undefined) {
      const [m] = this.sock.request(getLinkByName(this.sock.nextSeq(), name));
      if (!m) throw new NetlinkError(19);
      i = parseLinkMessage(m.payload).ifindex;
      this.indexes.set(name, i);
    }
    return i;
  }
}

function plain(l: NlLink): LinkInfo {
  const { masterIndex: _, ...info } = l;
  return info;
}

/**
 * The same call as one `ip -d -j -batch` process. Every successful query line prints one JSON
 * array, so outputs are matched to queries in order; a query whose link is missing reads as
 * nothing and the batch goes on after it.
 */
function viaIp(steps: readonly KernelStep[], queries: readonly KernelQuery[], opts: KernelOptions): unknown[] {
  const lines = [
    ...steps.map((s) => ({ line: ipLine(s.op), tolerate: s.tolerate })),
    ...queries.map((q) => ({ line: queryLine(q), tolerate: GONE, prints: true })),
  ];
  let out: { stdout: string; skipped: Set<number> };
  try {
    out = runBatch(["ip", "-j", "-d", "-batch", "-"], lines, { netns: opts.netns, what: opts.what, unnamed: "locate" });
  } catch (e) {
    if (!(e instanceof BatchLineError)) throw e;
    if (e.index === undefined)
      throw new SystemError(`${opts.what ?? "ip -batch"}: ${firstLine(e.stderr) || `exit ${e.status}`}`);
    if (e.index < steps.length) throw new KernelStepError(e.index, steps[e.index]!, e.reason, e.line ?? "");
    throw new SystemError(`${opts.what ?? "ip"}: ${e.line}: ${e.reason}`);
  }
  const answers = parseJsonStream(out.stdout);
  let next = 0;
  return queries.map((q, i) => {
    const printed = out.skipped.has(steps.length + i) ? undefined : answers[next++];
    if (q.q === "ports" || q.q === "links") return (printed ?? []).map(parseLink);
    if (q.q === "port") return (printed ?? []).map(parseLink).find((l) => l.ifindex === q.index);
    if (q.q === "routes") return (printed ?? []).map(parseRoute);
    return printed?.[0] === undefined ? undefined : parseLink(printed[0]);
  });
}

/**
 * Event wait without sleeps: subscribes to link (or IPv6 address) events of our namespace or
 * `netns`, then calls `ready()`; while it is false, re-checks it after each batch of events until
 * `timeoutMs` passes. Returns whether `ready()` became true. Without netlink: `ip monitor`.
 */
export async function waitForKernel(
  events: "link" | "address",
  ready: () => boolean,
  opts: { netns?: string; timeoutMs: number },
): Promise<boolean> {
  const sock = RtnlSocket.open(opts.netns, events === "link" ? RTMGRP_LINK : RTMGRP_IPV6_IFADDR);
  if (!sock) return waitForEvent([events], ready, opts);
  const started = performance.now();
  let batches = 0;
  try {
    const until = started + opts.timeoutMs;
    if (ready()) return true;
    for (;;) {
      const left = until - performance.now();
      if (left <= 0) return ready();
      // Short polls, with a turn of the event loop between them, keep timers and I/O alive.
      if (sock.readable(Math.min(left, 5))) {
        sock.drain();
        batches++;
        if (ready()) return true;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    sock.close();
    systemTrace()?.kernel(
      `${traceLine(`monitor ${events}`, opts.netns)} (event wait, ${batches} event batches)`,
      performance.now() - started,
      0,
    );
  }
}
