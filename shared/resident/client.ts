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
  const bun = (globalThis as { Bun?: BunApi }).Bun!;
  // One wave of reads: each async file operation costs a turn of Bun's I/O pool, the first one most.
  const [present, stdin, ns] = await Promise.all([
    bun
      .file(socket)
      .stat()
      .then(
        () => true,
        () => false,
      ),
    bun.stdin.bytes().then(
      (b) => Buffer.from(b),
      () => undefined,
    ),
    namespaces(bun).catch(() => undefined),
  ]);
  if (stdin === undefined) return { served: false, why: "stdin unreadable" };
  const notServed = (why: string): ResidentOutcome => ({ served: false, stdin, why });
  if (!present) return notServed("no service");
  if (ns === undefined) return notServed("namespaces unreadable");
  if (stdin.length > MAX_STDIN) return notServed("stdin too large");
  const request = requestFor(plugin, env, stdin, ns);
  let started = false;
  const lost = (why: string): ResidentOutcome =>
    started ? { served: true, exit: 1, stdout: lostAnswer(why, stdin), stderr: "" } : notServed(why);
  return converse<ResidentOutcome>(socket, request, {
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
  const request = { ...requestFor("loopback", {}, Buffer.alloc(0), await namespaces(bunApi())), probe: true };
  const none: ProbeAnswer = { status: "none" };
  return converse<ProbeAnswer>(socket, request, {
    reply: (r) => (r.status === "ready" || r.status === "declined" ? r : none),
    ended: () => none,
    timeoutMs: 5000,
    timedOut: () => none,
  });
}

/** One exchange with the service: what each reply line means, and what its absence does. */
interface Conversation<T> {
  /** An outcome ends the exchange; undefined waits for the next line. */
  reply(r: ResidentReply): T | undefined;
  /** The connection failed, closed or carried something unreadable before an outcome. */
  ended(why: string): T;
  timeoutMs: number;
  /** No outcome after timeoutMs: an outcome ends the exchange, undefined waits on. */
  timedOut(): T | undefined;
}

/** Sends `request` as one line and reads reply lines until the conversation has its outcome. */
function converse<T>(socket: string, request: ResidentRequest, c: Conversation<T>): Promise<T> {
  return new Promise<T>((resolve) => {
    let pending = Buffer.from(`${JSON.stringify(request)}\n`);
    const lines = new LineReader();
    let settled = false;
    const finish = (outcome: T | undefined) => {
      if (settled || outcome === undefined) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(c.timedOut()), c.timeoutMs);
    const flush = (s: BunSocket) => {
      while (pending.length > 0) {
        const n = s.write(pending);
        if (n <= 0) return;
        pending = pending.subarray(n);
      }
    };
    bunApi()
      .connect({
        unix: socket,
        socket: {
          open: flush,
          drain: flush,
          data(_s, chunk) {
            for (const line of lines.push(chunk)) {
              if (settled) break;
              let reply: ResidentReply;
              try {
                reply = JSON.parse(line) as ResidentReply;
              } catch {
                finish(c.ended("the service sent an unreadable answer"));
                break;
              }
              finish(c.reply(reply));
            }
          },
          close: () => finish(c.ended("the service closed the connection")),
          error: (_s, e) => finish(c.ended(`the service connection failed: ${e.message}`)),
          connectError: (_s, e) => finish(c.ended(`no service: ${e.message}`)),
        },
      })
      .catch((e: Error) => finish(c.ended(`no service: ${e.message}`)));
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
