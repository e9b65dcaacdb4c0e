/**
 * The rendered delegate configs flannel keeps between ADD and DEL, one file per attachment in
 * dataDir. The primary attachment (ifname eth0) uses upstream's name, `<containerID>`, so the Go
 * plugin and this one can delete each other's pods; any other interface of the same container uses
 * `<containerID>@<ifname>` (container IDs cannot contain "@", so names never collide) instead of
 * overwriting the primary's file as upstream does.
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { randomBytes } from "../../shared/sys/crypto-lite.js";
import { join } from "node:path";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import { faultPoint } from "../../shared/sys/fault.js";
import { fsyncDirectory, writeFileSynced } from "../../shared/sys/durable-file.js";
import { isPlainObject } from "../../shared/sys/plain-object.js";

export const PRIMARY_IFNAME = "eth0";

export function savedName(containerId: string, ifname: string): string {
  return ifname === PRIMARY_IFNAME ? containerId : `${containerId}@${ifname}`;
}

/** The attachment a saved file belongs to; ifname undefined for the legacy name (any interface). */
export function attachmentOf(fileName: string): { containerId: string; ifname?: string } | undefined {
  if (fileName.startsWith(".")) return undefined; // our temp files
  const at = fileName.indexOf("@");
  if (at < 0) return { containerId: fileName };
  return { containerId: fileName.slice(0, at), ifname: fileName.slice(at + 1) };
}

/** A saved file's content: bytes as found, the parsed object when it is a usable config. */
export interface SavedConfig {
  file: string;
  bytes: Buffer;
  mtimeMs: number;
  /** undefined when the file is empty, truncated or otherwise not a delegate config. */
  config?: Record<string, unknown>;
}

/** Temp files are hidden (".") and named after the attachment, so they never look like saved configs. */
const TEMP_SUFFIX = ".tmp";
/** What follows the prefix: "<pid>.<8 hex>.tmp". */
const TEMP_TAIL = /^[0-9]+\.[0-9a-f]{8}\.tmp$/;
function tempPrefix(containerId: string, ifname: string): string {
  return `.${savedName(containerId, ifname)}.`;
}

function ioError(what: string, e: unknown): CniError {
  return new CniError(ErrorCode.IoFailure, `${what}: ${(e as Error).message}`);
}

export class SavedConfigStore {
  constructor(readonly dataDir: string) {}

  path(containerId: string, ifname: string): string {
    return join(this.dataDir, savedName(containerId, ifname));
  }

  /**
   * Writes atomically: a crash leaves the old file or the new one, never a partial one. The content
   * is synced before the rename; the directory is not: after a power loss the new name may be
   * missing (never empty or torn), and a missing file is what DEL already handles by rebuilding
   * the config from subnet.env and releasing the lease (host-local's reservations are durable).
   * That saves one fsync per ADD without weakening any guarantee (docs/crash-safety.md).
   */
  save(containerId: string, ifname: string, bytes: Buffer): string {
    const file = this.path(containerId, ifname);
    this.removeTemps(containerId, ifname);
    const tmp = join(
      this.dataDir,
      `${tempPrefix(containerId, ifname)}${process.pid}.${randomBytes(4).toString("hex")}${TEMP_SUFFIX}`,
    );
    try {
      mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
      writeFileSynced(tmp, bytes, 0o600);
      faultPoint("flannel.save.before-rename");
      renameSync(tmp, file);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // not created, or already renamed
      }
      throw ioError(`failed to save the delegate config ${file}`, e);
    }
    return file;
  }

  /** Reads one file; undefined when it does not exist. */
  read(file: string): SavedConfig | undefined {
    let bytes: Buffer;
    let mtimeMs: number;
    try {
      const fd = openSync(file, "r");
      try {
        mtimeMs = fstatSync(fd).mtimeMs;
        bytes = readFileSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw ioError(`failed to read the saved delegate config ${file}`, e);
    }
    let config: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(bytes.toString("utf8"));
      if (isPlainObject(parsed) && typeof parsed.type === "string" && parsed.type !== "") config = parsed;
    } catch {
      // corrupt: the caller rebuilds the config
    }
    return config ? { file, bytes, mtimeMs, config } : { file, bytes, mtimeMs };
  }

  /**
   * The saved config of an attachment. A non-primary interface falls back to the legacy
   * `<containerID>` file when it belongs to the same network (written by the Go plugin, which
   * does not know interface names).
   */
  load(containerId: string, ifname: string, network: string): SavedConfig | undefined {
    const own = this.read(this.path(containerId, ifname));
    if (own || ifname === PRIMARY_IFNAME) return own;
    const legacy = this.read(join(this.dataDir, containerId));
    return legacy?.config?.name === network ? legacy : undefined;
  }

  remove(file: string): void {
    try {
      unlinkSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw ioError(`failed to remove the saved delegate config ${file}`, e);
    }
    try {
      fsyncDirectory(this.dataDir);
    } catch {
      // the removal itself succeeded
    }
  }

  /** Every saved file (temp files excluded); empty when dataDir does not exist. */
  list(): Array<{ name: string; file: string }> {
    let names: string[];
    try {
      names = readdirSync(this.dataDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw ioError(`failed to list ${this.dataDir}`, e);
    }
    return names.filter((n) => attachmentOf(n)).map((name) => ({ name, file: join(this.dataDir, name) }));
  }

  /**
   * Removes the temp files a killed save of this attachment left behind. The runtime serializes
   * the verbs of one attachment, so none of them can belong to a save in progress.
   */
  removeTemps(containerId: string, ifname: string): void {
    const prefix = tempPrefix(containerId, ifname);
    let names: string[];
    try {
      names = readdirSync(this.dataDir);
    } catch {
      return;
    }
    for (const name of names) {
      // The exact shape, so ".abc." never matches a temp file of container "abc.d".
      if (!name.startsWith(prefix) || !TEMP_TAIL.test(name.slice(prefix.length))) continue;
      try {
        unlinkSync(join(this.dataDir, name));
      } catch {
        // gone already
      }
    }
  }

  /** Removes temp files a crash left behind (older than `maxAgeMs`, so a concurrent save is never hit). */
  removeStaleTemps(maxAgeMs: number, now = Date.now()): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dataDir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      if (!name.startsWith(".") || !name.endsWith(TEMP_SUFFIX)) continue;
      const file = join(this.dataDir, name);
      try {
        if (now - statSync(file).mtimeMs < maxAgeMs) continue;
        unlinkSync(file);
        removed.push(file);
      } catch {
        // gone already
      }
    }
    return removed;
  }
}
