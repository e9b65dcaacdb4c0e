import * as z from "zod/mini";
import { parseWith } from "./config.js";
import { matchGoKeys } from "./go-keys.js";

/** A container's attachment to a network, as spec 1.1's GC names it. */
export interface Attachment {
  readonly containerId: string;
  readonly ifname: string;
}

export const VALID_ATTACHMENTS_KEY = "cni.dev/valid-attachments";
/** The key's name in the spec-v1.1.0 text; libcni >= 1.2.3 sends both. */
const DRAFT_KEY = "cni.dev/attachments";

const AttachmentsSchema = z.array(z.looseObject({ containerID: z.string(), ifname: z.string() }));
/** Only to match the keys: the list itself is validated by AttachmentsSchema. */
const KeysSchema = z.looseObject({ [VALID_ATTACHMENTS_KEY]: z.unknown(), [DRAFT_KEY]: z.unknown() });

/**
 * The attachments a GC must keep, from either key. undefined when the runtime sent neither
 * (cnitool's `gc`): the spec reads that as "nothing is valid", but each plugin decides how far it
 * trusts that. A malformed list is code 7.
 */
export function validAttachments(raw: Record<string, unknown>): Attachment[] | undefined {
  const keys = matchGoKeys(KeysSchema, raw) as Record<string, unknown>;
  const value = keys[VALID_ATTACHMENTS_KEY] ?? keys[DRAFT_KEY];
  if (value === undefined || value === null) return undefined;
  return parseWith(AttachmentsSchema, value, VALID_ATTACHMENTS_KEY).map((a) => ({
    containerId: a.containerID,
    ifname: a.ifname,
  }));
}

/** The list in the wire form, for a GC forwarded to a delegate. */
export function attachmentsJson(valid: readonly Attachment[]): Array<{ containerID: string; ifname: string }> {
  return valid.map((a) => ({ containerID: a.containerId, ifname: a.ifname }));
}

/** Is the attachment (ifname undefined = any interface of the container) among the valid ones? */
export function isValidAttachment(valid: readonly Attachment[], containerId: string, ifname?: string): boolean {
  return valid.some((a) => a.containerId === containerId && (ifname === undefined || a.ifname === ifname));
}
