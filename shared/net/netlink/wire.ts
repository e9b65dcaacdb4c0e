/**
 * The netlink wire format, pure: message headers, type-length-value attributes (nested ones too)
 * and the kernel's answers (data, NLMSG_DONE, NLMSG_ERROR with its errno). No socket here, so all
 * of it is unit-tested without a kernel. Native byte order: x86-64 and arm64 are little-endian.
 */
export const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
/** Set on dump answers when the table changed while it was being dumped: the answer may be incomplete. */
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
export const NLA_F_NESTED = 0x8000;

const align4 = (n: number) => (n + 3) & ~3;

/** One attribute to encode: a fixed-width integer, a string (NUL-terminated), raw bytes or nested attributes. */
export type Attr =
  | { type: number; u8: number }
  | { type: number; u16: number }
  | { type: number; u32: number }
  | { type: number; str: string }
  | { type: number; bytes: Uint8Array }
  | { type: number; nested: readonly Attr[] };

function payloadOf(a: Attr): Uint8Array {
  if ("u8" in a) return Uint8Array.of(a.u8);
  if ("u16" in a) {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, a.u16, true);
    return b;
  }
  if ("u32" in a) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, a.u32 >>> 0, true);
    return b;
  }
  if ("str" in a) return new TextEncoder().encode(`${a.str}\0`);
  if ("bytes" in a) return a.bytes;
  return encodeAttrs(a.nested);
}

/** Attributes as rtattr/nlattr records, each padded to 4 bytes. */
export function encodeAttrs(attrs: readonly Attr[]): Uint8Array {
  const parts = attrs.map((a) => ({ type: "nested" in a ? a.type | NLA_F_NESTED : a.type, payload: payloadOf(a) }));
  const out = new Uint8Array(parts.reduce((n, p) => n + align4(4 + p.payload.length), 0));
  const view = new DataView(out.buffer);
  let off = 0;
  for (const p of parts) {
    view.setUint16(off, 4 + p.payload.length, true);
    view.setUint16(off + 2, p.type, true);
    out.set(p.payload, off + 4);
    off += align4(4 + p.payload.length);
  }
  return out;
}

/** A whole request: header (length, type, flags, sequence, port 0) + fixed family header + attributes. */
export function encodeMessage(
  type: number,
  flags: number,
  seq: number,
  fixed: Uint8Array,
  attrs: readonly Attr[] = [],
): Uint8Array {
  const body = encodeAttrs(attrs);
  const fixedLen = align4(fixed.length);
  const out = new Uint8Array(NLMSG_HDRLEN + fixedLen + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq, true);
  view.setUint32(12, 0, true);
  out.set(fixed, NLMSG_HDRLEN);
  out.set(body, NLMSG_HDRLEN + fixedLen);
  return out;
}

/** Decoded attributes by type (the last one wins; the nested flag is masked off). */
export type Attrs = Map<number, Uint8Array>;

export function decodeAttrs(buf: Uint8Array): Attrs {
  const out: Attrs = new Map();
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = view.getUint16(off, true);
    if (len < 4 || off + len > buf.length) break;
    out.set(view.getUint16(off + 2, true) & 0x3fff, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

export const attrU8 = (a: Uint8Array | undefined) => (a && a.length >= 1 ? a[0]! : undefined);
export function attrU32(a: Uint8Array | undefined): number | undefined {
  return a && a.length >= 4 ? new DataView(a.buffer, a.byteOffset, 4).getUint32(0, true) : undefined;
}
export function attrStr(a: Uint8Array | undefined): string | undefined {
  if (!a) return undefined;
  const nul = a.indexOf(0);
  return new TextDecoder().decode(nul >= 0 ? a.subarray(0, nul) : a);
}

/** One message of an answer: its type, sequence number and payload (family header + attributes). */
export interface Message {
  type: number;
  flags: number;
  seq: number;
  payload: Uint8Array;
}

/** Splits a datagram into messages. */
export function decodeMessages(buf: Uint8Array): Message[] {
  const out: Message[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = view.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({
      type: view.getUint16(off + 4, true),
      flags: view.getUint16(off + 6, true),
      seq: view.getUint32(off + 8, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** What a message means for the request waiting on it. */
export type Answer =
  { kind: "data"; message: Message } | { kind: "done" } | { kind: "ack" } | { kind: "error"; errno: number };

export function classify(m: Message): Answer {
  if (m.type === NLMSG_DONE) return { kind: "done" };
  if (m.type === NLMSG_ERROR) {
    const code = m.payload.length >= 4 ? new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, true) : 0;
    return code === 0 ? { kind: "ack" } : { kind: "error", errno: -code };
  }
  return { kind: "data", message: m };
}

/** Go's texts for the errnos rtnetlink answers with (what upstream's messages end in). */
const ERRNO_TEXT: Record<number, string> = {
  1: "operation not permitted",
  2: "no such file or directory",
  3: "no such process",
  9: "bad file descriptor",
  12: "cannot allocate memory",
  13: "permission denied",
  16: "device or resource busy",
  17: "file exists",
  19: "no such device",
  22: "invalid argument",
  28: "no space left on device",
  34: "numerical result out of range",
  40: "too many levels of symbolic links",
  90: "message too long",
  95: "operation not supported",
  97: "address family not supported by protocol",
  98: "address already in use",
  99: "cannot assign requested address",
  100: "network is down",
  101: "network is unreachable",
  105: "no buffer space available",
};

export function errnoText(errno: number): string {
  return ERRNO_TEXT[errno] ?? `errno ${errno}`;
}
