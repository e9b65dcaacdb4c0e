/**
 * The resident service's deleting thread (detached-delete.ts): makes each link deletion it is
 * sent, a link-del step of the kernel layer in the given namespace, and answers when the kernel
 * returns, with the kernel's reason when it refused.
 */
import type { DeleteReply, DeleteRequest } from "./detached-delete.js";
import { kernel, KernelStepError } from "./kernel.js";

declare const self: {
  onmessage: ((e: { data: DeleteRequest }) => void) | null;
  postMessage(reply: DeleteReply): void;
};

self.onmessage = ({ data }) => {
  try {
    kernel([{ op: { op: "link-del", dev: data.dev } }], [], { netns: data.netns });
    self.postMessage({ id: data.id });
  } catch (e) {
    self.postMessage({ id: data.id, reason: e instanceof KernelStepError ? e.reason : String(e) });
  }
};
