/**
 * Link deletions that return when the link is gone, not when the kernel has finished with it.
 * Deleting a veth takes the kernel 15-40 ms (measured): it unlists the pair within a millisecond
 * or two (names free, addresses and routes gone), then waits for RCU grace periods and for the
 * last references before its answer. In the resident service a second thread makes the request
 * and the call goes on as soon as the link is gone from its namespace, which is all a DEL
 * promises; the kernel's remaining wait overlaps what follows. Elsewhere (a plugin process, which
 * cannot exit while one of its threads is in the kernel anyway; Node; the thread busy with an
 * earlier deletion) the step runs in the caller's thread as any other.
 */
import { systemTrace } from "../sys/trace-hook.js";
import { ipLine, kernel, type KernelOp, type KernelStep, KernelStepError, linkPresent, traceLine } from "./kernel.js";

export interface DeleteRequest {
  id: number;
  netns: string;
  dev: string;
}
export interface DeleteReply {
  id: number;
  /** The kernel's reason when it refused the deletion. */
  reason?: string;
}

interface WorkerThread {
  postMessage(request: DeleteRequest): void;
  onmessage: ((e: { data: DeleteReply }) => void) | null;
  onerror: ((e: { message: string }) => void) | null;
  unref?(): void;
}

/** The deleting thread failed before it answered: what became of the request is unknown. */
const LOST = Symbol("lost");
type Answer = string | undefined | typeof LOST;

const POLL_MS = 1;
let thread: WorkerThread | undefined;
let nextId = 1;
const waiting = new Map<number, (answer: Answer) => void>();

/**
 * Starts the deleting thread (the resident service, once). Its entry is the build's second entry
 * point, which the executable finds by its path under the common root of the two (shared/).
 */
export function startDetachedDeletes(log: (line: string) => void): void {
  const WorkerClass = (globalThis as { Worker?: new (path: string) => WorkerThread }).Worker;
  if (WorkerClass === undefined || !("Bun" in globalThis)) return;
  let started: WorkerThread;
  try {
    started = new WorkerClass("./net/link-delete-worker.ts");
  } catch (e) {
    log(`cni-ts serve: link deletions stay in the calling thread: ${(e as Error).message}`);
    return;
  }
  started.unref?.();
  started.onmessage = ({ data }) => {
    const answer = waiting.get(data.id);
    waiting.delete(data.id);
    answer?.(data.reason);
  };
  started.onerror = (e) => {
    log(`cni-ts serve: the link-deleting thread failed (${e.message}); deletions stay in the calling thread`);
    thread = undefined;
    for (const answer of waiting.values()) answer(LOST);
    waiting.clear();
  };
  thread = started;
}

/**
 * Makes a link-del `step` in `netns` and returns once the link is gone (or the kernel refused,
 * which throws KernelStepError as `kernel` does); traced as its `ip` line with the time until the
 * link was gone.
 */
export async function deleteLink(
  step: KernelStep & { op: Extract<KernelOp, { op: "link-del" }> },
  netns: string,
): Promise<void> {
  const op = step.op;
  const inCaller = () => void kernel([step], [], { netns });
  // A link already gone takes the ordinary path, whose `tolerate` and `fail` decide what it means.
  if (thread === undefined || waiting.size > 0 || linkPresent(op.dev, netns) !== true) return inCaller();
  const id = nextId++;
  const started = performance.now();
  const answered = new Promise<Answer>((resolve) => waiting.set(id, resolve));
  thread.postMessage({ id, netns, dev: op.dev });
  let settled = false;
  const gone = (async () => {
    while (!settled && linkPresent(op.dev, netns)) await new Promise((r) => setTimeout(r, POLL_MS));
    return "gone" as const;
  })();
  const outcome = await Promise.race([answered, gone]);
  settled = true;
  const line = ipLine(op);
  const status = typeof outcome === "string" && outcome !== "gone" ? -1 : 0;
  systemTrace()?.kernel(traceLine(line, netns), performance.now() - started, status);
  if (outcome === "gone" || outcome === undefined) return;
  if (outcome === LOST) return inCaller();
  if (step.tolerate?.test(outcome)) return;
  throw new KernelStepError(0, step, outcome, line);
}
