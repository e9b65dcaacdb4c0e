/**
 * The on-disk store, byte-compatible with upstream: `<dataDir>/<network>/<ip>` holds
 * `<containerID>\r\n<ifname>` (no newline), `last_reserved_ip.<set>` the last address handed out
 * in a range set, `lock` the flock file. Unlike upstream every write is durable and atomic: a
 * reservation is written to a temp file, fsynced, then hard-linked to its final name (link
 * fails with EEXIST when the address is taken, so the "taken" test stays atomic and a
 * reservation file is never seen empty); the directory is fsynced before the caller returns.
 */
import {
  closeSync,
  constants,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CONTAINER_ID_PATTERN } from "../../shared/cni/env.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { faultPoint } from "../../shared/sys/fault.js";
import { fsyncDirectory, writeFileSynced } from "../../shared/sys/durable-file.js";
import { type Ip, formatIp, parseIp } from "../../shared/net/ip.js";
import { withStoreLock } from "./lock.js";

export const LINE_BREAK = "\r\n";
const LAST_RESERVED_PREFIX = "last_reserved_ip.";
const TEMP_PREFIX = ".cni-ts-tmp.";
const FILE_MODE = 0o600;
const DIR_MODE = 0o755;

/** Who a reservation belongs to. `ifname` undefined: a legacy file holding only the container ID. */
export interface Owner {
  readonly containerId: string;
  readonly ifname: string | undefined;
}

export interface Reservation {
  /** The file name (Go's net.IP.String()). */
  readonly name: string;
  readonly ip: Ip;
}

const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g;

/** Reads a reservation's content as upstream matches it (strings.TrimSpace); empty or garbage → no owner. */
export function ownerOf(content: string): Owner | undefined {
  const t = content.replace(GO_SPACE, "");
  if (t === "") return undefined;
  const br = t.indexOf(LINE_BREAK);
  if (br < 0) return CONTAINER_ID_PATTERN.test(t) ? { containerId: t, ifname: undefined } : undefined;
  const containerId = t.slice(0, br);
  const ifname = t.slice(br + LINE_BREAK.length);
  if (!CONTAINER_ID_PATTERN.test(containerId) || ifname === "" || /\s/.test(ifname)) return undefined;
  return { containerId, ifname };
}

export function reservationContent(containerId: string, ifname: string): string {
  return `${containerId.trim()}${LINE_BREAK}${ifname}`;
}

const READ_BUFFER = Buffer.alloc(2048);

/** Reads a reservation (a few dozen bytes) with three syscalls and no per-file allocation beyond the string. */
function readSmall(path: string): string {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const n = readSync(fd, READ_BUFFER, 0, READ_BUFFER.length, 0);
    return n < READ_BUFFER.length ? READ_BUFFER.toString("utf8", 0, n) : readFileSync(path, "utf8");
  } finally {
    closeSync(fd);
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

function ioError(what: string, e: unknown): CniError {
  return new CniError(ErrorCode.IoFailure, `${what}: ${(e as Error).message}`);
}

/** Where a network's store lives; refuses names that would leave dataDir. */
export function storeDir(dataDir: string, network: string): string {
  const root = resolve(dataDir);
  const dir = resolve(root, network);
  if (!CONTAINER_ID_PATTERN.test(network) || dirname(dir) !== root) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid network name "${network}": the store would be outside dataDir ${root}`,
      "network names may contain letters, digits, '_', '.' and '-', and start with a letter or digit",
    );
  }
  return dir;
}

export function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  } catch (e) {
    throw ioError(`failed to create store directory ${dir}`, e);
  }
}

export function dirExists(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Runs `fn` with the store locked; everything it changed is durable when this returns. */
export function withLockedStore<T>(dir: string, fn: (store: LockedStore) => T): T {
  return withStoreLock(dir, () => {
    const store = new LockedStore(dir);
    try {
      return fn(store);
    } finally {
      store.close();
    }
  });
}

/** The store while this process holds its lock. Synchronous by design (see withStoreLock). */
export class LockedStore {
  private readonly names: Set<string>;
  private readonly owners = new Map<string, Owner | undefined>();
  private parsed: Reservation[] | undefined;
  private temp: { path: string; content: string } | undefined;
  private dirty = false;

  constructor(readonly dir: string) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (e) {
      throw ioError(`failed to read store directory ${dir}`, e);
    }
    this.names = new Set();
    for (const name of entries) {
      if (name.startsWith(TEMP_PREFIX)) {
        // Only a writer holding the lock has temp files; any we see were left by a crash.
        this.unlinkQuiet(join(dir, name));
      } else {
        this.names.add(name);
      }
    }
  }

  /** Every file named as an IP address (the reservations, whatever their content). */
  reservations(): Reservation[] {
    if (!this.parsed) {
      this.parsed = [];
      for (const name of this.names) {
        const ip = parseIp(name);
        if (ip) this.parsed.push({ name, ip });
      }
    }
    return this.parsed;
  }

  isTaken(ip: Ip): boolean {
    return this.names.has(formatIp(ip));
  }

  /** The owner recorded in a reservation, read lazily and once. */
  owner(name: string): Owner | undefined {
    if (!this.owners.has(name)) {
      let owner: Owner | undefined;
      try {
        owner = ownerOf(readSmall(join(this.dir, name)));
      } catch {
        owner = undefined;
      }
      this.owners.set(name, owner);
    }
    return this.owners.get(name);
  }

  /** Reservations of (containerId, ifname), and the legacy ones holding only containerId. */
  ownedBy(containerId: string, ifname: string): { exact: Reservation[]; legacy: Reservation[] } {
    const exact: Reservation[] = [];
    const legacy: Reservation[] = [];
    for (const r of this.reservations()) {
      const o = this.owner(r.name);
      if (!o || o.containerId !== containerId) continue;
      if (o.ifname === ifname) exact.push(r);
      else if (o.ifname === undefined) legacy.push(r);
    }
    return { exact, legacy };
  }

  /**
   * A reservation file that names nobody (empty, whitespace or garbage): every writer fills its
   * file before it releases the lock, so under the lock such a file is a crash leftover.
   */
  isOrphan(name: string): boolean {
    if (this.owner(name) !== undefined) return false;
    try {
      return statSync(join(this.dir, name)).isFile();
    } catch {
      return false;
    }
  }

  /** Whether the attachment (or its container, in legacy format) holds anything; stops at the first match. */
  holdsAny(containerId: string, ifname: string): boolean {
    return this.reservations().some((r) => {
      const o = this.owner(r.name);
      return o?.containerId === containerId && (o.ifname === ifname || o.ifname === undefined);
    });
  }

  /** Claims `ip` for (containerId, ifname); false when the address is already taken. */
  reserve(ip: Ip, containerId: string, ifname: string): boolean {
    const name = formatIp(ip);
    if (this.names.has(name)) return false;
    const content = reservationContent(containerId, ifname);
    if (this.temp?.content !== content) this.temp = { path: this.writeTemp(content), content };
    faultPoint(`host-local:reserve:temp-written:${name}`);
    try {
      linkSync(this.temp.path, join(this.dir, name));
    } catch (e) {
      if (errno(e) === "EEXIST") {
        this.names.add(name);
        this.parsed = undefined;
        return false;
      }
      throw ioError(`failed to reserve ${name}`, e);
    }
    faultPoint(`host-local:reserve:linked:${name}`);
    this.unlinkQuiet(this.temp.path);
    this.temp = undefined;
    this.names.add(name);
    this.parsed = undefined;
    this.owners.set(name, ownerOf(content));
    this.dirty = true;
    return true;
  }

  release(name: string): void {
    try {
      unlinkSync(join(this.dir, name));
    } catch (e) {
      if (errno(e) !== "ENOENT") throw ioError(`failed to release ${name}`, e);
    }
    this.names.delete(name);
    this.parsed = undefined;
    this.owners.delete(name);
    this.dirty = true;
  }

  /**
   * Marks a reservation as just (re)claimed: an idempotent re-ADD is an ADD in progress again, and
   * the leak definition (leaks.ts) must give it the full grace period before its interface exists.
   */
  refresh(name: string): void {
    try {
      const now = new Date();
      utimesSync(join(this.dir, name), now, now);
    } catch (e) {
      if (errno(e) !== "ENOENT") throw ioError(`failed to refresh ${name}`, e);
    }
  }

  /** The last address handed out in range set `setIndex`, as upstream reads it (no trimming). */
  lastReserved(setIndex: number): Ip | undefined {
    try {
      return parseIp(readFileSync(join(this.dir, `${LAST_RESERVED_PREFIX}${setIndex}`), "utf8"));
    } catch {
      return undefined;
    }
  }

  setLastReserved(setIndex: number, ip: Ip): void {
    const path = this.writeTemp(formatIp(ip));
    faultPoint(`host-local:last-reserved:temp-written:${setIndex}`);
    try {
      renameSync(path, join(this.dir, `${LAST_RESERVED_PREFIX}${setIndex}`));
    } catch (e) {
      this.unlinkQuiet(path);
      throw ioError(`failed to record the last reserved address of range set ${setIndex}`, e);
    }
    this.names.add(`${LAST_RESERVED_PREFIX}${setIndex}`);
    this.dirty = true;
  }

  /** Removes an unused temp file and makes every change durable (one directory fsync). */
  close(): void {
    if (this.temp) {
      this.unlinkQuiet(this.temp.path);
      this.temp = undefined;
    }
    if (!this.dirty) return;
    try {
      fsyncDirectory(this.dir);
    } catch (e) {
      throw ioError(`failed to sync store directory ${this.dir}`, e);
    }
    this.dirty = false;
  }

  private writeTemp(content: string): string {
    const path = join(this.dir, `${TEMP_PREFIX}${process.pid}.${Math.random().toString(36).slice(2, 10)}`);
    try {
      writeFileSynced(path, content, FILE_MODE);
    } catch (e) {
      throw ioError(`failed to write in store directory ${this.dir}`, e);
    }
    this.dirty = true;
    return path;
  }

  private unlinkQuiet(path: string): void {
    try {
      unlinkSync(path);
      this.dirty = true;
    } catch {
      // already gone
    }
  }
}
