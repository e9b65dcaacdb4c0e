/**
 * `cni-ts install`: puts this executable into a node's CNI bin directory under the plugin names
 * (what an init container runs), or, with --from, puts another implementation's executables back
 * (rollback). Every name is replaced by rename; a second run changes nothing; files that are not
 * ours are left alone unless --replace says otherwise; every change is printed.
 *
 * Layout: `cni-ts` plus a hard link to it per plugin name, except the names in OWN_COPY, which get
 * their own copy. kube-flannel's install-cni-plugin init container runs `cp -f /flannel
 * /opt/cni/bin/flannel` on every restart, and cp opens an existing destination with O_TRUNC: a
 * hard-linked `flannel` would turn every plugin name into upstream's flannel.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BUILD, buildDescription } from "../build-info.js";
import { writeAll } from "../sys/write-all.js";
import { PLUGIN_NAMES, type PluginName, isPluginName } from "../plugins.js";
import { fsyncDirectory, writeFileSynced } from "../sys/durable-file.js";
import type { NodeCommand } from "./index.js";
import {
  isOurExecutable,
  lstatOrNone,
  replaceWithCopy,
  replaceWithLink,
  sameContents,
  sameInode,
} from "./install-files.js";

/** Plugin names another installer overwrites in place (see the module comment). */
export const OWN_COPY: ReadonlySet<string> = new Set(["flannel"]);

const MULTI = "cni-ts";

const USAGE = `usage: cni-ts install --bin-dir DIR [--plugins LIST] [--replace] [--conf-dir DIR --conflist FILE]
       cni-ts install --bin-dir DIR --from OTHER_DIR [--plugins LIST] [--replace]   (rollback)
  --bin-dir DIR     the runtime's CNI plugin directory (default /opt/cni/bin)
  --plugins LIST    comma-separated plugin names (default: ${PLUGIN_NAMES.join(",")});
                    names already ours in DIR are upgraded too
  --replace         overwrite files that are not cni-ts executables (upstream's plugins)
  --conf-dir DIR    with --conflist: the runtime's CNI config directory (e.g. /etc/cni/net.d)
  --conflist FILE   a config list to install there (same file name), validated, by rename
  --from OTHER_DIR  install the executables found in OTHER_DIR under the plugin names instead
                    (e.g. upstream's release, to roll back); removes DIR/cni-ts once unused
  --source FILE     the cni-ts executable to install (default: this one)
Disk: cni-ts once, plus one more copy for ${[...OWN_COPY].join(", ")} (none on XFS/btrfs: reflinked).
`;

export interface InstallOptions {
  binDir: string;
  plugins: PluginName[];
  pluginsGiven: boolean;
  replace: boolean;
  source: string;
  from?: string;
  confDir?: string;
  conflist?: string;
}

/** A refusal or a bad argument: printed as "cni-ts install: MESSAGE". */
export class InstallError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function parseInstallArgs(args: string[]): InstallOptions | "help" {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        "bin-dir": { type: "string" },
        plugins: { type: "string" },
        replace: { type: "boolean" },
        "conf-dir": { type: "string" },
        conflist: { type: "string" },
        from: { type: "string" },
        source: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    throw new InstallError(`${(e as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) return "help";
  const plugins = values.plugins === undefined ? [...PLUGIN_NAMES] : values.plugins.split(",").filter((p) => p !== "");
  const unknown = plugins.filter((p) => !isPluginName(p));
  if (unknown.length > 0 || plugins.length === 0) {
    throw new InstallError(
      `unknown plugin name(s) "${unknown.join(",")}" in --plugins; known: ${PLUGIN_NAMES.join(", ")}`,
      2,
    );
  }
  if ((values["conf-dir"] === undefined) !== (values.conflist === undefined)) {
    throw new InstallError("--conf-dir and --conflist go together: the directory and the file to install into it", 2);
  }
  return {
    binDir: resolve(values["bin-dir"] ?? "/opt/cni/bin"),
    plugins: plugins as PluginName[],
    pluginsGiven: values.plugins !== undefined,
    replace: values.replace ?? false,
    source: resolve(values.source ?? process.execPath),
    from: values.from === undefined ? undefined : resolve(values.from),
    confDir: values["conf-dir"] === undefined ? undefined : resolve(values["conf-dir"]),
    conflist: values.conflist === undefined ? undefined : resolve(values.conflist),
  };
}

/** What was at a name before: for the change lines. */
function previously(file: string): string {
  const st = lstatOrNone(file);
  if (!st) return "new";
  if (isOurExecutable(file)) return "was another cni-ts build";
  return st.isFile() ? "replaced a file that was not cni-ts" : "replaced a non-file";
}

function refuseForeign(dir: string, names: readonly string[], replace: boolean): void {
  if (replace) return;
  const foreign = names.filter((n) => lstatOrNone(join(dir, n)) !== undefined && !isOurExecutable(join(dir, n)));
  if (foreign.length > 0) {
    throw new InstallError(
      `not overwriting ${foreign.map((n) => join(dir, n)).join(", ")}: not cni-ts executables ` +
        "(upstream's plugins?). Pass --replace to overwrite them; nothing was changed",
      1,
    );
  }
}

/** Whole seconds: every copy of one build gets exactly this mtime (the same-build test compares it). */
function wholeSecondMtime(file: string): number {
  const seconds = Math.floor(statSync(file).mtimeMs / 1000);
  if (statSync(file).mtimeMs !== seconds * 1000) utimesSync(file, seconds, seconds);
  return seconds;
}

interface Tally {
  changed: number;
  unchanged: number;
}

function installOurs(opts: InstallOptions, log: (line: string) => void, tally: Tally): void {
  const dir = opts.binDir;
  if (!isOurExecutable(opts.source)) {
    throw new InstallError(`${opts.source} is not a cni-ts executable; pass the built one with --source`, 1);
  }
  // Names already ours move to the new build too: in-process delegation needs one build throughout.
  const names = PLUGIN_NAMES.filter((n) => opts.plugins.includes(n) || isOurExecutable(join(dir, n)));
  refuseForeign(dir, [MULTI, ...names], opts.replace);

  const multi = join(dir, MULTI);
  if (sameContents(opts.source, multi)) {
    tally.unchanged++;
  } else {
    const was = previously(multi);
    replaceWithCopy(opts.source, dir, MULTI, Math.floor(statSync(opts.source).mtimeMs / 1000));
    const what = opts.source === process.execPath ? buildDescription() : `from ${opts.source}`;
    log(`${multi}: installed ${what} (${was})`);
    tally.changed++;
  }
  const mtime = wholeSecondMtime(multi);
  const multiStat = statSync(multi);
  for (const name of names) {
    const file = join(dir, name);
    const current = lstatOrNone(file);
    if (OWN_COPY.has(name)) {
      const upToDate =
        current?.isFile() &&
        !sameInode(current, multiStat) &&
        current.mtimeMs === mtime * 1000 &&
        sameContents(multi, file);
      if (upToDate) {
        tally.unchanged++;
        continue;
      }
      const was = previously(file);
      replaceWithCopy(multi, dir, name, mtime);
      log(`${file}: its own copy of cni-ts, so a cp -f over it reaches no other plugin (${was})`);
    } else {
      if (sameInode(current, multiStat)) {
        tally.unchanged++;
        continue;
      }
      const was = previously(file);
      replaceWithLink(dir, MULTI, name);
      log(`${file}: hard link to ${MULTI} (${was})`);
    }
    tally.changed++;
  }
  fsyncDirectory(dir);
}

function installFrom(opts: InstallOptions, from: string, log: (line: string) => void, tally: Tally): void {
  const dir = opts.binDir;
  const names = opts.pluginsGiven ? opts.plugins : PLUGIN_NAMES.filter((n) => lstatOrNone(join(from, n))?.isFile());
  const missing = names.filter((n) => !lstatOrNone(join(from, n))?.isFile());
  if (missing.length > 0) throw new InstallError(`--from ${from} has no ${missing.join(", ")}`, 1);
  const ours = names.filter((n) => isOurExecutable(join(from, n)));
  if (ours.length > 0)
    throw new InstallError(
      `${ours.map((n) => join(from, n)).join(", ")} are cni-ts: --from takes another implementation`,
      1,
    );
  if (names.length === 0) throw new InstallError(`--from ${from} holds none of ${PLUGIN_NAMES.join(", ")}`, 1);
  refuseForeign(
    dir,
    names.filter((n) => !sameContents(join(from, n), join(dir, n))),
    opts.replace,
  );
  for (const name of names) {
    const source = join(from, name);
    const file = join(dir, name);
    if (sameContents(source, file)) {
      tally.unchanged++;
      continue;
    }
    const was = previously(file);
    replaceWithCopy(source, dir, name, Math.floor(statSync(source).mtimeMs / 1000));
    log(`${file}: copied from ${source} (${was})`);
    tally.changed++;
  }
  const multi = join(dir, MULTI);
  const multiStat = lstatOrNone(multi);
  if (
    multiStat &&
    isOurExecutable(multi) &&
    !PLUGIN_NAMES.some((n) => sameInode(lstatOrNone(join(dir, n)), multiStat))
  ) {
    rmSync(multi);
    log(`${multi}: removed (no plugin name uses it any more)`);
    tally.changed++;
  }
  fsyncDirectory(dir);
}

function installConflist(confDir: string, conflist: string, log: (line: string) => void, tally: Tally): void {
  let text: string;
  try {
    text = readFileSync(conflist, "utf8");
  } catch (e) {
    throw new InstallError(`cannot read --conflist ${conflist}: ${(e as Error).message}`, 1);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new InstallError(`--conflist ${conflist} is not JSON: ${(e as Error).message}`, 1);
  }
  const list = parsed as { name?: unknown; cniVersion?: unknown; plugins?: unknown };
  if (
    typeof list !== "object" ||
    list === null ||
    typeof list.name !== "string" ||
    !Array.isArray(list.plugins) ||
    list.plugins.length === 0
  ) {
    throw new InstallError(
      `--conflist ${conflist} is not a config list: it needs "name" and a non-empty "plugins" array`,
      1,
    );
  }
  mkdirSync(confDir, { recursive: true });
  const target = join(confDir, basename(conflist));
  try {
    if (readFileSync(target, "utf8") === text) {
      tally.unchanged++;
      return;
    }
  } catch {
    // not there yet
  }
  const tmp = join(confDir, `.${basename(conflist)}.cni-ts-install.${process.pid}`);
  rmSync(tmp, { force: true });
  writeFileSynced(tmp, text, 0o644);
  renameSync(tmp, target);
  fsyncDirectory(confDir);
  log(`${target}: config list "${list.name}" (cniVersion ${String(list.cniVersion)}) installed`);
  tally.changed++;
}

/** Runs one installation; returns the tally. Throws InstallError for refusals and bad input. */
export function install(opts: InstallOptions, log: (line: string) => void): Tally {
  const tally: Tally = { changed: 0, unchanged: 0 };
  mkdirSync(opts.binDir, { recursive: true });
  if (opts.from !== undefined) installFrom(opts, opts.from, log, tally);
  else installOurs(opts, log, tally);
  if (opts.confDir !== undefined && opts.conflist !== undefined)
    installConflist(opts.confDir, opts.conflist, log, tally);
  return tally;
}

export const command: NodeCommand = {
  summary: "install the plugins into a CNI bin directory (or roll back with --from)",
  async run(args) {
    try {
      const opts = parseInstallArgs(args);
      if (opts === "help") {
        writeAll(1, USAGE);
        return 0;
      }
      const tally = install(opts, (line) => writeAll(1, `${line}\n`));
      const what = opts.from === undefined ? `cni-ts v${BUILD.release}` : `plugins from ${opts.from}`;
      writeAll(1, `${what} in ${opts.binDir}: ${tally.changed} changed, ${tally.unchanged} unchanged\n`);
      return 0;
    } catch (e) {
      // A filesystem failure (EACCES, ENOSPC, …) leaves every name as it was: each change is a rename.
      writeAll(2, `cni-ts install: ${(e as Error).message}\n`);
      return e instanceof InstallError ? e.status : 1;
    }
  },
};
