/**
 * The plugin side of the resident service: hands the call (environment and stdin) to `cni-ts
 * serve` over its unix socket and relays the answer. Bun APIs only, so that a served call loads
 * nothing else; without a service (no socket, refused, declined, not started in time) the caller
 * runs the call itself with the stdin read here.
 */
import { BUILD_ID } from "../build-info.js";
import { CLIENT_START_TIMEOUT_MS, LineReader, type ResidentReply, type ResidentRequest } from "./protocol.js";

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
  return new Promise<ResidentOutcome>((resolve) => {
    let pending = Buffer.from(`${JSON.stringify(request)}\n`);
    const lines = new LineReader();
    let started = false;
    let settled = false;
    const finish = (outcome: ResidentOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    // Not started in time: the service has declined it by now (MAX_QUEUE_WAIT_MS) or is stuck.
    const timer = setTimeout(() => {
      if (!started) finish(notServed("the service did not start the call in time"));
    }, CLIENT_START_TIMEOUT_MS);
    const flush = (s: BunSocket) => {
      while (pending.length > 0) {
        const n = s.write(pending);
        if (n <= 0) return;
        pending = pending.subarray(n);
      }
    };
    const onLine = (line: string) => {
      const reply = JSON.parse(line) as ResidentReply;
      if (reply.status === "started") started = true;
      else if (reply.status === "declined") finish(notServed(reply.reason));
      else if (reply.status === "done")
        finish({ served: true, exit: reply.exit, stdout: reply.stdout, stderr: reply.stderr });
      else throw new Error(`unexpected ${reply.status}`);
    };
    const lost = (why: string) => {
      if (started) finish({ served: true, exit: 1, stdout: lostAnswer(why, stdin), stderr: "" });
      else finish(notServed(why));
    };
    bun
      .connect({
        unix: socket,
        socket: {
          open: flush,
          drain: flush,
          data(_s, chunk) {
            for (const line of lines.push(chunk)) {
              if (settled) break;
              try {
                onLine(line);
              } catch {
                lost("the service sent an unreadable answer");
              }
            }
          },
          close: () => lost("the service closed the connection"),
          error: (_s, e) => lost(`the service connection failed: ${e.message}`),
          connectError: (_s, e) => finish(notServed(`no service: ${e.message}`)),
        },
      })
      .catch((e: Error) => finish(notServed(`no service: ${e.message}`)));
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
