/**
 * File-system evidence for the fault, load and fuzz tests: what changed in a directory tree,
 * and which state files are suspicious (empty, temp leftovers, world-writable).
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export type FileSnapshot = Map<string, string>;

/** path → "kind mode size mtime" for everything under root, skipping the `allowed` subtrees. */
export function snapshotTree(root: string, allowed: readonly string[] = []): FileSnapshot {
  const out: FileSnapshot = new Map();
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      if (allowed.includes(p)) continue;
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      const kind = st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : st.isFile() ? "f" : "o";
      // A directory's mtime moves when an allowed child is created; its entries are compared instead.
      const when = st.isDirectory() ? 0 : st.mtimeMs;
      out.set(
        relative(root, p) || ".",
        `${kind} ${(st.mode & 0o7777).toString(8)} ${st.isDirectory() ? 0 : st.size} ${when}`,
      );
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** Human-readable differences between two snapshots ("+added", "-removed", "~changed"). */
export function diffSnapshots(before: FileSnapshot, after: FileSnapshot): string[] {
  const d: string[] = [];
  for (const [p, v] of after) {
    const old = before.get(p);
    if (old === undefined) d.push(`+${p}`);
    else if (old !== v) d.push(`~${p}`);
  }
  for (const p of before.keys()) if (!after.has(p)) d.push(`-${p}`);
  return d.sort();
}

export interface StateFile {
  path: string;
  mode: number;
  size: number;
  isDir: boolean;
  content?: Buffer;
}

/** Every file and directory under root with its mode and (for files) content. */
export function listState(root: string): StateFile[] {
  const out: StateFile[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.push({ path: p, mode: st.mode & 0o7777, size: 0, isDir: true });
        walk(p);
      } else {
        out.push({
          path: p,
          mode: st.mode & 0o7777,
          size: st.size,
          isDir: false,
          content: st.isFile() ? readFileSync(p) : undefined,
        });
      }
    }
  };
  walk(root);
  return out;
}

/** Problems any state tree must never show: empty or temp files, world-writable entries. */
export function hygieneProblems(files: readonly StateFile[]): string[] {
  const problems: string[] = [];
  for (const f of files) {
    if (f.mode & 0o002) problems.push(`${f.path} is world-writable (mode ${f.mode.toString(8)})`);
    if (f.isDir) continue;
    const base = f.path.split("/").pop() ?? "";
    if (/\.tmp|~$|^\.|\.swp$|\.new$|\.part$/.test(base)) problems.push(`${f.path} looks like a temp file left behind`);
    if (f.size === 0 && base !== "lock") problems.push(`${f.path} is empty (half-written?)`);
  }
  return problems;
}
