import * as z from "zod/mini";
import { parseWith } from "../../shared/cni/config.js";

/** One entry of `cni.dev/valid-attachments` (spec 1.1 GC). */
export interface Attachment {
  containerID: string;
  ifname: string;
}

export const VALID_ATTACHMENTS_KEY = "cni.dev/valid-attachments";
/** The key's name in drafts of the 1.1 spec; some runtimes still send it. */
const DRAFT_KEY = "cni.dev/attachments";

const AttachmentsSchema = z.array(z.looseObject({ containerID: z.string(), ifname: z.string() }));

/** The attachments a GC must keep. Absent means none is valid (everything of this network may go). */
export function validAttachments(raw: Record<string, unknown>): Attachment[] {
  const value = raw[VALID_ATTACHMENTS_KEY] ?? raw[DRAFT_KEY];
  if (value === undefined || value === null) return [];
  return parseWith(AttachmentsSchema, value, `GC config (${VALID_ATTACHMENTS_KEY})`).map((a) => ({
    containerID: a.containerID,
    ifname: a.ifname,
  }));
}

/** Is an attachment (ifname undefined = any interface of the container) among the valid ones? */
export function isValidAttachment(valid: readonly Attachment[], containerId: string, ifname?: string): boolean {
  return valid.some((a) => a.containerID === containerId && (ifname === undefined || a.ifname === ifname));
}
