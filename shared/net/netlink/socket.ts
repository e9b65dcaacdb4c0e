/**
 * A NETLINK_ROUTE socket through the runtime's FFI (libc's socket, bind, send, recv, poll), in our
 * own namespace or opened inside another one (a socket keeps the namespace it was created in, so
 * the thread switches only for socket(2)). Under Node there is no FFI: `openRtnl` returns
 * undefined and callers run `ip` instead. Requests are synchronous: one send, then receive until
 * the acknowledgement (or the end of a dump).
 */
import { type LibcFunctions, loadLibc } from "../../sys/libc.js";
import { withNetns } from "../../sys/netns-enter.js";
import { classify, decodeMessages, type Message, NLM_F_DUMP_INTR } from "./wire.js";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SOL_NETLINK = 270;
const NETLINK_GET_STRICT_CHK = 12;
const MSG_DONTWAIT = 0x40;
const POLLIN = 0x1;
const EINTR = 4;
const EAGAIN = 11;
const ENOBUFS = 105;
const DUMP_TRIES = 5;

const SIGNATURES = {
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  send: { args: ["i32", "ptr", "u64", "i32"], returns: "i64" },
  recv: { args: ["i32", "ptr", "u64", "i32"], returns: "i64" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
};
type Libc = LibcFunctions<keyof typeof SIGNATURES>;

let libc: Libc | null | undefined;

/** True when this process talks netlink itself (Bun with libc); false under Node. */
export function haveNetlink(): boolean {
  if (libc === undefined) libc = loadLibc(SIGNATURES);
  return libc !== null;
}

/** A request the kernel refused: its errno. */
export class NetlinkError extends Error {
  constructor(readonly errno: number) {
    super(`netlink errno ${errno}`);
  }
}

const RECV_SIZE = 1 << 16;

export class RtnlSocket {
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly buf = new Uint8Array(RECV_SIZE);

  private constructor(
    private readonly c: Libc,
    readonly fd: number,
  ) {}

  /** Opens a socket (inside `netns` when given) joined to the multicast `groups`; undefined when impossible here. */
  static open(netns?: string, groups = 0): RtnlSocket | undefined {
    if (!haveNetlink()) return undefined;
    const c = libc!;
    const make = () => c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    const fd = netns ? withNetns(netns, make)?.value : make();
    if (fd === undefined || fd < 0) return undefined;
    const sock = new RtnlSocket(c, fd);
    const addr = new Uint8Array(12);
    const v = new DataView(addr.buffer);
    v.setUint16(0, AF_NETLINK, true);
    v.setUint32(8, groups, true);
    if (c.bind(fd, addr, addr.length) !== 0) {
      c.close(fd);
      return undefined;
    }
    const one = new Uint8Array(4);
    new DataView(one.buffer).setUint32(0, 1, true);
    // Strict mode (Linux 4.20+): dumps filtered by link in the kernel. Older kernels say no, and
    // the caller's own filter does the same work.
    c.setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, one, 4);
    if (groups !== 0) {
      const size = new Uint8Array(4);
      new DataView(size.buffer).setUint32(0, 1 << 20, true);
      c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4);
    }
    return sock;
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /**
   * Sends one request and collects its data messages until the ack or NLMSG_DONE; throws
   * NetlinkError. A dump that the kernel marks as interrupted (the table changed meanwhile, e.g.
   * concurrent ADDs adding ports) is asked for again: its answer may be missing entries.
   */
  request(msg: Uint8Array): Message[] {
    for (let attempt = 1; ; attempt++) {
      const { data, interrupted } = this.once(msg);
      if (!interrupted || attempt >= DUMP_TRIES) return data;
    }
  }

  private once(msg: Uint8Array): { data: Message[]; interrupted: boolean } {
    const seq = new DataView(msg.buffer, msg.byteOffset).getUint32(8, true);
    for (;;) {
      const n = this.c.send(this.fd, msg, msg.length, 0);
      if (n === msg.length) break;
      if (n < 0 && this.c.errno() === EINTR) continue;
      throw new NetlinkError(n < 0 ? this.c.errno() : 90);
    }
    const data: Message[] = [];
    let interrupted = false;
    for (;;) {
      for (const m of this.receive(0)) {
        if (m.seq !== seq) continue; // an answer to an earlier, abandoned request
        if ((m.flags & NLM_F_DUMP_INTR) !== 0) interrupted = true;
        const a = classify(m);
        if (a.kind === "data") data.push(a.message);
        else if (a.kind === "error") throw new NetlinkError(a.errno);
        else return { data, interrupted };
      }
    }
  }

  /** One datagram's messages; with MSG_DONTWAIT, [] when none is queued. */
  receive(flags: number): Message[] {
    for (;;) {
      const n = this.c.recv(this.fd, this.buf, RECV_SIZE, flags);
      if (n >= 0) return decodeMessages(this.buf.slice(0, n));
      const errno = this.c.errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN) return [];
      throw new NetlinkError(errno);
    }
  }

  /** Waits up to `ms` for something to read; true when there is. */
  readable(ms: number): boolean {
    const pfd = new Uint8Array(8);
    const v = new DataView(pfd.buffer);
    v.setInt32(0, this.fd, true);
    v.setInt16(4, POLLIN, true);
    const r = this.c.poll(pfd, 1, Math.max(0, Math.ceil(ms)));
    return r > 0;
  }

  /**
   * Reads and discards every queued event (the caller re-reads the state it waits for). Events
   * lost to a full receive buffer (ENOBUFS, many links changing at once) need no special care
   * for the same reason.
   */
  drain(): number {
    let n = 0;
    for (;;) {
      try {
        if (this.receive(MSG_DONTWAIT).length === 0) return n;
      } catch (e) {
        if (!(e instanceof NetlinkError && e.errno === ENOBUFS)) throw e;
      }
      n++;
    }
  }

  close(): void {
    this.c.close(this.fd);
  }
}
