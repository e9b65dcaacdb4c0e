/**
 * The plugin side of the resident service: hands the call (environment and stdin) to `cni-ts
 * serve` over its unix socket and relays the answer. Bun APIs only, so that a served call loads
 * nothing else; without a service (no socket, refused, declined, not started in time) the caller
 * runs the call itself with the stdin read here.
 */
import { BUILD_ID } from "../build-info.js";
import {
  CLIENT_START_TIMEOUT_MS,
  LineReader,
  type ResidentCounts,
  type ResidentReply,
  type ResidentRequest,
} from "./protocol.js";

export type ResidentOutcome =
  { served: true; exit: number; stdout: string; stderr: string } | { served: false; stdin?: Buffer; why: string };

/** Largest stdin sent to the service; anything larger is the in-process path's to refuse. */
const MAX_STDIN = 1 << 20;

interface BunSocket {
  write(data: string | Uint8Array): number;
  end(): void;
}
export interface BunApi {
  stdin: { bytes(): Promise<Uint8Array> };
  stdout: unknown;
  stderr: unknown;
  write(dest: unknown, data: string): Promise<number>;
  file(path: string): { stat(): Promise<{ dev: number; ino: number }> };
  connect(opts: {
    unix: string;
    socket: {
      open(s: BunSocket): void;
      data(s: BunSocket, chunk: Uint8Array): void;
      drain(s: BunSocket): void;
      close(): void;
      error(s: BunSocket, e: Error): void;
      connectError?(s: BunSocket, e: Error): void;
    };
  }): Promise<BunSocket>;
}

/** Prints a served call's output as the plugin would have; returns its exit status. */
export async function relay(outcome: { exit: number; stdout: string; stderr: string }): Promise<number> {
  const bun = (globalThis as { Bun?: BunApi }).Bun!;
  if (outcome.stdout) await bun.write(bun.stdout, outcome.stdout);
  if (outcome.stderr) await bun.write(bun.stderr, outcome.stderr);
  return outcome.exit;
}

export function bunApi(): BunApi {
  return (globalThis as { Bun?: BunApi }).Bun!;
}

async function nsId(kind: "net" | "mnt", bun: BunApi): Promise<string> {
  const s = await bun.file(`/proc/self/ns/${kind}`).stat();
  return `${s.dev}:${s.ino}`;
}

/** This process's network and mount namespaces, as the service compares them with its own. */
export async function namespaces(bun: BunApi): Promise<ResidentRequest["ns"]> {
  const [net, mnt] = await Promise.all([nsId("net", bun), nsId("mnt", bun)]);
  return { net, mnt };
}

/** This process's call as the service reads it. */
export function requestFor(
  plugin: string,
  env: NodeJS.ProcessEnv,
  stdin: Buffer,
  ns: ResidentRequest["ns"],
): ResidentRequest {
  return {
    build: BUILD_ID,
    plugin,
    env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    stdin: stdin.toString("base64"),
    ns,
    sentAt: Date.now(),
  };
}

export async function callResident(socket: string, plugin: string, env: NodeJS.ProcessEnv): Promise<ResidentOutcome> {
  const bun = bunApi();
  let stdin: Buffer | undefined;
  let started = false;
  const notServed = (why: string): ResidentOutcome => ({ served: false, stdin, why });
  const lost = (why: string): ResidentOutcome =>
    started ? { served: true, exit: 1, stdout: lostAnswer(why, stdin!), stderr: "" } : notServed(why);
  // One wave of reads (each async file operation costs a turn of Bun's I/O pool, the first one
  // most), while the connection opens: a missing socket fails the connect as fast as a stat would.
  const prepared = Promise.all([
    bun.stdin.bytes().then(
      (b) => Buffer.from(b),
      () => undefined,
    ),
    namespaces(bun).catch(() => undefined),
  ]).then(([read, ns]): Prepared<ResidentOutcome> => {
    stdin = read;
    if (read === undefined) return { outcome: { served: false, why: "stdin unreadable" } };
    if (ns === undefined) return { outcome: notServed("namespaces unreadable") };
    if (read.length > MAX_STDIN) return { outcome: notServed("stdin too large") };
    return { request: requestFor(plugin, env, read, ns) };
  });
  return converse<ResidentOutcome>(socket, prepared, {
    reply(r) {
      if (r.status === "started") started = true;
      else if (r.status === "declined") return notServed(r.reason);
      else if (r.status === "done") return { served: true, exit: r.exit, stdout: r.stdout, stderr: r.stderr };
      else return lost(`the service sent an unexpected "${r.status}"`);
      return undefined;
    },
    ended: lost,
    // Not started in time: the service has declined it by now (MAX_QUEUE_WAIT_MS) or is stuck.
    timeoutMs: CLIENT_START_TIMEOUT_MS,
    timedOut: () => (started ? undefined : notServed("the service did not start the call in time")),
  });
}

export type ProbeAnswer =
  ({ status: "ready"; build: string } & ResidentCounts) | { status: "declined"; reason: string } | { status: "none" };

/**
 * Asks the service at `socket` whether it would serve this process's calls, and what it has done
 * (`cni-ts doctor`, `cni-ts metrics`); nothing runs. "none" when nothing answers within 5 s.
 */
export async function probeResident(socket: string): Promise<ProbeAnswer> {
  if (!("Bun" in globalThis)) return { status: "none" };
  const none: ProbeAnswer = { status: "none" };
  const prepared = namespaces(bunApi()).then(
    (ns): Prepared<ProbeAnswer> => ({ request: { ...requestFor("loopback", {}, Buffer.alloc(0), ns), probe: true } }),
    () => ({ outcome: none }),
  );
  return converse<ProbeAnswer>(socket, prepared, {
    reply: (r) => (r.status === "ready" || r.status === "declined" ? r : none),
    ended: () => none,
    timeoutMs: 5000,
    timedOut: () => none,
  });
}

/** What to send, once it is known; or the outcome without sending anything. */
type Prepared<T> = { request: ResidentRequest } | { outcome: T };

/** One exchange with the service: what each reply line means, and what its absence does. */
interface Conversation<T> {
  /** An outcome ends the exchange; undefined waits for the next line. */
  reply(r: ResidentReply): T | undefined;
  /** The connection failed, closed or carried something unreadable before an outcome. */
  ended(why: string): T;
  /** Counted from when the request is sent. */
  timeoutMs: number;
  /** No outcome after timeoutMs: an outcome ends the exchange, undefined waits on. */
  timedOut(): T | undefined;
}

/**
 * Connects at once and, when `prepared` has the request, sends it as one line and reads reply
 * lines until the conversation has its outcome. Nothing settles before `prepared` has: what
 * happens to a call that is not served depends on what was read for it.
 */
function converse<T>(socket: string, prepared: Promise<Prepared<T>>, c: Conversation<T>): Promise<T> {
  return new Promise<T>((resolve) => {
    let pending: Buffer | undefined;
    let connection: BunSocket | undefined;
    let endedEarly: string | undefined;
    let isPrepared = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lines = new LineReader();
    let settled = false;
    const finish = (outcome: T | undefined) => {
      if (settled || outcome === undefined) return;
      settled = true;
      clearTimeout(timer);
      connection?.end();
      resolve(outcome);
    };
    const ended = (why: string) => {
      if (isPrepared) finish(c.ended(why));
      else endedEarly ??= why;
    };
    const flush = (s: BunSocket) => {
      while (pending !== undefined && pending.length > 0) {
        const n = s.write(pending);
        if (n <= 0) return;
        pending = pending.subarray(n);
      }
    };
    void prepared.then((p) => {
      isPrepared = true;
      if ("outcome" in p) return finish(p.outcome);
      if (endedEarly !== undefined) return finish(c.ended(endedEarly));
      pending = Buffer.from(`${JSON.stringify(p.request)}\n`);
      timer = setTimeout(() => finish(c.timedOut()), c.timeoutMs);
      if (connection !== undefined) flush(connection);
    });
    bunApi()
      .connect({
        unix: socket,
        socket: {
          open(s) {
            connection = s;
            if (settled) s.end();
            else flush(s);
          },
          drain: flush,
          data(_s, chunk) {
            for (const line of lines.push(chunk)) {
              if (settled) break;
              let reply: ResidentReply;
              try {
                reply = JSON.parse(line) as ResidentReply;
              } catch {
                ended("the service sent an unreadable answer");
                break;
              }
              finish(c.reply(reply));
            }
          },
          close: () => ended("the service closed the connection"),
          error: (_s, e) => ended(`the service connection failed: ${e.message}`),
          connectError: (_s, e) => ended(`no service: ${e.message}`),
        },
      })
      .catch((e: Error) => ended(`no service: ${e.message}`));
  });
}

/** The CNI error a client prints when the service stopped after starting its call. */
function lostAnswer(why: string, stdin: Buffer): string {
  let cniVersion = "1.0.0";
  try {
    const v = (JSON.parse(stdin.toString("utf8")) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === "string" && v !== "") cniVersion = v;
  } catch {
    // the service parsed it; here only the version of the error is at stake
  }
  return `${JSON.stringify(
    {
      cniVersion,
      code: 11,
      msg: `cni-ts resident service: ${why} during the call`,
      details: "the call may be partly done; the runtime's retry (or DEL) cleans it up",
    },
    null,
    4,
  )}\n`;
}
