/** `cni-ts serve`: the resident service (shared/resident/server.ts) as a node command. */
import type { NodeCommand } from "./index.js";
import { parseArgs } from "node:util";
import { writeAll } from "../sys/write-all.js";
import { DEFAULT_SOCKET, MAX_QUEUE_WAIT_MS } from "../resident/protocol.js";

const USAGE = `usage: cni-ts serve [--socket PATH] [--max-calls N]
Runs the plugins' calls in this long-lived process, where the code is loaded and warm: a pod's
ADD costs a fraction of a plugin process doing it all. The plugin executables hand their calls
over when the socket exists (CNI_TS_SOCKET in their environment names another path, "off" none)
and run them themselves when it does not, when the service is of another build or in another
network or mount namespace, or when a call waited ${MAX_QUEUE_WAIT_MS / 1000} s in its queue. Calls run one at a time.
Run it in the node's network and mount namespace, as root, under a supervisor that restarts it.
  --socket PATH     unix socket to listen on (default ${DEFAULT_SOCKET}; its directory is made 0700)
  --max-calls N     exit 0 after N calls, for the supervisor to start a fresh one (default 100000)
`;

export const command: NodeCommand = {
  summary: "serve plugin calls from a warm, long-lived process",
  async run(args) {
    let values: { socket?: string; "max-calls"?: string; help?: boolean };
    try {
      values = parseArgs({
        args,
        options: { socket: { type: "string" }, "max-calls": { type: "string" }, help: { type: "boolean", short: "h" } },
        strict: true,
        allowPositionals: false,
      }).values;
    } catch (e) {
      writeAll(2, `cni-ts serve: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    if (values.help) {
      writeAll(1, USAGE);
      return 0;
    }
    const socket = values.socket ?? DEFAULT_SOCKET;
    const maxCalls = Number(values["max-calls"] ?? "100000");
    if (!socket.startsWith("/") || !Number.isInteger(maxCalls) || maxCalls < 1) {
      writeAll(2, `cni-ts serve: --socket must be an absolute path and --max-calls a positive integer\n${USAGE}`);
      return 2;
    }
    if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") {
      writeAll(2, "cni-ts serve: needs the compiled executable (Bun)\n");
      return 1;
    }
    const { serve } = await import("../resident/server.js");
    return serve({ socket, maxCalls, log: (line) => writeAll(2, `${line}\n`) });
  },
};
