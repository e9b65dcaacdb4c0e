/**
 * The resident side's service: `cni-ts serve` on a private socket inside a sandbox node's network
 * namespace, entered with `nsenter --net` so it shares the bench's mount namespace with the timer
 * and the plugins it starts (the service declines clients of another mount namespace, and every
 * `ip netns exec` makes a new one). Stopped with SIGTERM at the end and on failure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { TOOL_PATH } from "../../conformance-tests/lib/paths.js";
import type { SandboxNode } from "../../conformance-tests/lib/sandbox.js";
import { enterArgv, realtimeArgv } from "./timer.js";
import type { TraceRecord } from "./trace-log.js";

export interface ResidentService {
  pid: number;
  socket: string;
  /** The service's peak RSS so far (VmHWM), kB; undefined once it is gone. */
  peakRssKb(): number | undefined;
  running(): boolean;
  /** CPU time the service's threads have used so far (schedstat, ns precision), ms. */
  cpuMs(): number;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/** Starts `<binDir>/cni-ts serve` in the node's namespace and waits until its socket exists. */
export async function startResident(node: SandboxNode, binDir: string): Promise<ResidentService> {
  const socket = join(node.dir, "resident", "plugins.sock");
  const argv = [...enterArgv(node, "nsenter"), ...realtimeArgv(), join(binDir, "cni-ts"), "serve", "--socket", socket];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { PATH: TOOL_PATH, LC_ALL: "C" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr!.on("data", (b: Buffer) => stderr.push(b.toString()));
  let exited = false;
  const gone = new Promise<void>((done) =>
    child.once("close", () => {
      exited = true;
      done();
    }),
  );
  child.once("error", (e) => stderr.push(`cannot start: ${e.message}`));
  const service = serviceOf(child, socket, () => exited, gone);
  // A sandbox torn down without stop() (an exception path) still kills it.
  node.onTeardown(() => {
    if (!exited) child.kill("SIGKILL");
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!existsSync(socket)) {
    if (exited || Date.now() > deadline) {
      await service.stop();
      throw new Error(
        `the resident service did not come up on ${socket} (${argv.join(" ")}): ${stderr.join("").trim() || "no output"}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return service;
}

function serviceOf(child: ChildProcess, socket: string, exited: () => boolean, gone: Promise<void>): ResidentService {
  const pid = child.pid ?? -1;
  return {
    pid,
    socket,
    running: () => !exited(),
    cpuMs: () => threadsCpuMs(pid),
    peakRssKb() {
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        return m ? Number(m[1]) : undefined;
      } catch {
        return undefined;
      }
    },
    async stop() {
      if (exited()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Sum of the first field (time on the CPU, ns) of every thread's /proc/PID/task/TID/schedstat. */
export function threadsCpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}

/**
 * Why a call's trace records do not prove the service ran it: no record at all, or a record not
 * marked resident by the service's pid (a client that ran the call itself). Undefined when served.
 */
export function unservedReason(records: readonly TraceRecord[], servicePid: number): string | undefined {
  if (records.length === 0) return "no trace record";
  const own = records.filter((r) => r.resident !== true || r.pid !== servicePid);
  if (own.length === 0) return undefined;
  return own
    .map((r) => `${r.plugin} ${r.verb} ran in pid ${r.pid ?? "?"}${r.resident === true ? " (resident)" : ""}`)
    .join(", ");
}
