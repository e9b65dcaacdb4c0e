/**
 * `cni-ts serve`: runs plugin calls handed over by the plugin executables (client.ts) in one
 * long-lived process, where the code is already loaded and warm, one call at a time. It serves
 * only clients of its own build in its own network and mount namespace, and declines a call that
 * waited too long in the queue; a declined client runs the call itself, so the service is never
 * needed for a pod to start.
 */
import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import * as z from "zod/mini";
import { BUILD_ID } from "../build-info.js";
import { registerInProcess } from "../cni/delegate.js";
import { runPlugin } from "../cni/dispatch.js";
import { startDetachedDeletes } from "../net/detached-delete.js";
import { loadPlugin } from "../plugin-loader.js";
import { PLUGIN_NAMES, isPluginName } from "../plugins.js";
import {
  type DeclineKind,
  LineReader,
  MAX_DEL_WAIT_MS,
  MAX_QUEUE_WAIT_MS,
  type ResidentCounts,
  type ResidentReply,
} from "./protocol.js";

const RequestSchema = z.object({
  build: z.string(),
  plugin: z.string(),
  env: z.record(z.string(), z.string()),
  stdin: z.string(),
  ns: z.object({ net: z.string(), mnt: z.string() }),
  sentAt: z.number(),
  probe: z.optional(z.boolean()),
});
type Request = z.infer<typeof RequestSchema>;

/** Largest request line accepted (a 1 MiB config in base64 and its environment). */
const MAX_REQUEST_BYTES = 2 << 20;

interface Conn {
  write(data: string | Uint8Array): number;
  end(): void;
  data: { lines: LineReader; closed: boolean; pending: Buffer };
}

export interface ServeOptions {
  socket: string;
  /** Exit (for the supervisor to restart it) after this many calls: a bound on anything a call leaks. */
  maxCalls: number;
  log(line: string): void;
}

/** The executable's file as it is now ("dev:ino:size:mtime"); an upgrade replaces it. */
function executableId(): string {
  try {
    const s = statSync(process.execPath);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return "gone";
  }
}

function nsId(kind: "net" | "mnt"): string {
  const s = statSync(`/proc/self/ns/${kind}`);
  return `${s.dev}:${s.ino}`;
}

/** Serves until SIGTERM/SIGINT or maxCalls; resolves with the exit status. */
export async function serve(opts: ServeOptions): Promise<number> {
  // The executable starts with JIT tier-up made 1000x more reluctant (scripts/build.mjs), right for
  // a plugin process that lives 10 ms; this one lives for days and runs the same code for every pod.
  (globalThis as unknown as { Bun: { unsafe: { setJITPolicy(scale: number): void } } }).Bun.unsafe.setJITPolicy(1);
  const own = { net: nsId("net"), mnt: nsId("mnt") };
  const executable = executableId();
  for (const name of PLUGIN_NAMES) registerInProcess(name, () => loadPlugin(name));
  startDetachedDeletes(opts.log);
  if (!(await prepareSocketPath(opts.socket))) {
    opts.log(`cni-ts serve: another service is already listening on ${opts.socket}`);
    return 1;
  }
  let queue: Promise<void> = Promise.resolve();
  let calls = 0;
  const counts: ResidentCounts = { served: 0, declined: {} };
  const decline = (c: Conn, kind: DeclineKind, reason: string) => {
    counts.declined[kind] = (counts.declined[kind] ?? 0) + 1;
    logDecline(reason);
    send(c, { status: "declined", reason });
  };
  let stopping = false;
  let resolveDone: (status: number) => void = () => {};
  const done = new Promise<number>((r) => (resolveDone = r));

  // Each reason once a minute: an operator sees why calls are not served without a line per pod.
  const declineLogged = new Map<string, number>();
  const logDecline = (why: string) => {
    const now = Date.now();
    if (now - (declineLogged.get(why) ?? -Infinity) < 60_000) return;
    declineLogged.set(why, now);
    opts.log(`cni-ts serve: declined a call: ${why}`);
  };
  const send = (c: Conn, reply: ResidentReply) => {
    c.data.pending = Buffer.concat([c.data.pending, Buffer.from(`${JSON.stringify(reply)}\n`)]);
    flush(c);
  };
  const flush = (c: Conn) => {
    while (c.data.pending.length > 0) {
      const n = c.write(c.data.pending);
      if (n <= 0) return;
      c.data.pending = c.data.pending.subarray(n);
    }
  };

  const handle = async (c: Conn, line: string): Promise<void> => {
    let req: Request;
    try {
      const parsed = RequestSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error("malformed request");
      req = parsed.data;
    } catch {
      decline(c, "malformed", "malformed request");
      return c.end();
    }
    // An upgrade replaced our file: the plugins are a new build now, which a fresh service serves.
    if (!stopping && executableId() !== executable) stop("its executable was replaced");
    const why = declineReason(req, own, stopping);
    if (req.probe) {
      send(
        c,
        why === undefined ? { status: "ready", build: BUILD_ID, ...counts } : { status: "declined", reason: why[1] },
      );
      return c.end();
    }
    if (why !== undefined) {
      if (!c.data.closed) decline(c, ...why);
      return c.end();
    }
    if (c.data.closed) return c.end();
    send(c, { status: "started" });
    calls++;
    counts.served++;
    const out: string[] = [];
    const err: string[] = [];
    const stdin = Buffer.from(req.stdin, "base64");
    const plugin = await loadPlugin(req.plugin as never);
    const exit = await runPlugin(
      plugin,
      req.env,
      { readStdin: () => stdin, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) },
      { resident: true },
    );
    send(c, { status: "done", exit, stdout: out.join(""), stderr: err.join("") });
    c.end();
    if (calls >= opts.maxCalls) stop(`served ${calls} calls`);
  };

  const listener = (globalThis as unknown as { Bun: BunListen }).Bun.listen({
    unix: opts.socket,
    socket: {
      open(c) {
        c.data = { lines: new LineReader(), closed: false, pending: Buffer.alloc(0) };
      },
      data(c, chunk) {
        const [line] = c.data.lines.push(chunk);
        if (line === undefined) {
          if (c.data.lines.buffered > MAX_REQUEST_BYTES) c.end();
          return;
        }
        queue = queue.then(async () => {
          try {
            await handle(c, line);
          } catch (e) {
            opts.log(`cni-ts serve: call failed: ${(e as Error).stack ?? String(e)}`);
            c.end();
          }
        });
      },
      drain: flush,
      close(c) {
        c.data.closed = true;
      },
      error() {},
    },
  });
  chmodSync(opts.socket, 0o600);
  opts.log(`cni-ts serve: ${BUILD_ID} listening on ${opts.socket}`);

  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    opts.log(`cni-ts serve: stopping (${why})`);
    // Connections with a call in progress stay open until it is answered.
    listener.stop(false);
    try {
      unlinkSync(opts.socket);
    } catch {
      // already gone
    }
    void queue.then(() => resolveDone(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return done;
}

function declineReason(
  req: Request,
  own: { net: string; mnt: string },
  stopping: boolean,
): [DeclineKind, string] | undefined {
  if (stopping) return ["stopping", "the service is stopping"];
  if (req.build !== BUILD_ID) return ["build", `the service is build ${BUILD_ID}, the client ${req.build}`];
  if (req.ns.net !== own.net || req.ns.mnt !== own.mnt)
    return ["namespace", "the client is in another network or mount namespace than the service"];
  if (!isPluginName(req.plugin)) return ["plugin", `unknown plugin ${req.plugin}`];
  // A busy service: while it runs a call it reads no new one, so the wait is the client's age.
  const waited = Date.now() - req.sentAt;
  if (req.env.CNI_COMMAND === "DEL" && waited > MAX_DEL_WAIT_MS) return ["busy", "busy: DELs run faster in parallel"];
  if (waited > MAX_QUEUE_WAIT_MS) return ["busy", "busy: the call waited too long in the queue"];
  return undefined;
}

/**
 * The socket's directory, private to root; a stale socket (no service behind it) is replaced.
 * False when a service answers on it.
 */
async function prepareSocketPath(socket: string): Promise<boolean> {
  mkdirSync(dirname(socket), { recursive: true, mode: 0o700 });
  if (!existsSync(socket)) return true;
  const bun = (globalThis as unknown as { Bun: BunListen }).Bun;
  const answered = await bun
    .connect({ unix: socket, socket: { data() {}, open: (c) => c.end() } })
    .then(() => true)
    .catch(() => false);
  if (answered) return false;
  unlinkSync(socket);
  return true;
}

interface BunListen {
  connect(opts: { unix: string; socket: { data(): void; open(c: { end(): void }): void } }): Promise<unknown>;
  listen(opts: {
    unix: string;
    socket: {
      open(c: Conn): void;
      data(c: Conn, chunk: Uint8Array): void;
      drain(c: Conn): void;
      close(c: Conn): void;
      error(c: Conn, e: Error): void;
    };
  }): { stop(closeActive?: boolean): void };
}
