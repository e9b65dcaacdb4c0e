/**
 * The resident service's wire format (`cni-ts serve`): one JSON line each way per call over a unix
 * socket. The client sends a ResidentRequest; the service answers "started" when it begins the
 * call (from then on the call may have changed the node, so the client must not run it again)
 * and then "done" with the exit status and output, or "declined" without starting it, after which
 * the client runs the call in its own process as it would without a service.
 */
export const DEFAULT_SOCKET = "/run/cni-ts/plugins.sock";

/** A call waiting longer than this in the service's queue is declined (the client runs it itself). */
export const MAX_QUEUE_WAIT_MS = 2000;
/**
 * A DEL that waited this long is declined: the service is busy, and a DEL mostly waits for the
 * kernel to delete the veth, a wait that DELs in parallel processes share and DELs one after
 * another do not. In a burst (a node being drained) the plugin processes do them faster.
 */
export const MAX_DEL_WAIT_MS = 50;
/** How long a client waits for "started" before it runs the call itself: well beyond MAX_QUEUE_WAIT_MS. */
export const CLIENT_START_TIMEOUT_MS = 5000;

export interface ResidentRequest {
  /** The client's build id: the service only runs calls of its own build. */
  build: string;
  plugin: string;
  env: Record<string, string>;
  /** The plugin's stdin, base64. */
  stdin: string;
  /** The client's network and mount namespaces ("dev:ino" of /proc/self/ns/{net,mnt}). */
  ns: { net: string; mnt: string };
  /** Date.now() when the client sent the call. */
  sentAt: number;
  /** Only ask whether the service would run this client's calls (`cni-ts doctor`); nothing runs. */
  probe?: boolean;
}

/** Why the service declined calls, as counted (`cni-ts metrics`). */
export type DeclineKind = "build" | "namespace" | "busy" | "stopping" | "malformed" | "plugin";

/** What the service has done since it started: the answer to a probe. */
export interface ResidentCounts {
  served: number;
  declined: Partial<Record<DeclineKind, number>>;
}

export type ResidentReply =
  | ({ status: "ready"; build: string } & ResidentCounts)
  | { status: "started" }
  | { status: "declined"; reason: string }
  | { status: "done"; exit: number; stdout: string; stderr: string };

/** Which socket plugins use: CNI_TS_SOCKET when set ("off" or empty: none), else the default. */
export function residentSocket(env: NodeJS.ProcessEnv): string | undefined {
  const s = env.CNI_TS_SOCKET;
  if (s === undefined) return DEFAULT_SOCKET;
  return s === "" || s === "off" ? undefined : s;
}

/**
 * Splits a byte stream into its lines, decoding each whole line as UTF-8: a character split
 * across two reads stays whole. Returns the complete lines the chunk finished.
 */
export class LineReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): string[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const lines: string[] = [];
    for (let nl = this.pending.indexOf(10); nl >= 0; nl = this.pending.indexOf(10)) {
      lines.push(this.pending.subarray(0, nl).toString("utf8"));
      this.pending = this.pending.subarray(nl + 1);
    }
    return lines;
  }

  /** Bytes received that no newline has ended yet. */
  get buffered(): number {
    return this.pending.length;
  }
}
