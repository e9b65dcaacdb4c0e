/**
 * The plugin directory: which names are ours (an executable carrying our marker) and
 * their release, which are other executables, names that share an inode with our executable but
 * are not plugin names of ours (the runtime would run us under a name we do not serve), and the
 * plugins the configurations need that are missing.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { PLUGIN_NAMES } from "../../plugins.js";
import { isOurExecutable } from "../../commands/install-files.js";
import type { NodeConfig, NodeNetwork } from "../node-config.js";
import { type Finding, error, info, shellArg, warning } from "./finding.js";

export interface BinEntry {
  name: string;
  ino: number;
  release?: string;
}

/**
 * Our release of a file, when it is ours (it carries our executable marker): what it prints for
 * `--version` ("… v0.1.0 (commit 1a2b3c4, bun-linux-x64-baseline)"). Only files proven ours run.
 */
function releaseOf(path: string): string | undefined {
  if (!isOurExecutable(path)) return undefined;
  const r = spawnSync(path, ["--version"], {
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    timeout: 10_000,
  });
  const m = / v(\S+) \(commit ([^,)]+)/.exec(r.stdout?.toString() ?? "");
  return m ? `${m[1]} (commit ${m[2]})` : "of unknown release";
}

export function listBinDir(binDir: string): BinEntry[] | string {
  let names: string[];
  try {
    names = readdirSync(binDir).sort();
  } catch (e) {
    return (e as Error).message;
  }
  const byInode = new Map<number, string | undefined>();
  const out: BinEntry[] = [];
  for (const name of names) {
    let st;
    try {
      st = statSync(join(binDir, name));
    } catch {
      continue;
    }
    if (!st.isFile()) continue;
    if (!byInode.has(st.ino)) byInode.set(st.ino, releaseOf(join(binDir, name)));
    const release = byInode.get(st.ino);
    out.push({ name, ino: st.ino, ...(release ? { release } : {}) });
  }
  return out;
}

/** The executables a network needs: its plugin types, their IPAM types, flannel's delegate and its IPAM. */
export function neededPlugins(net: NodeNetwork): string[] {
  const need = new Set<string>();
  for (const p of net.plugins) {
    need.add(p.type);
    const ipam = typeof p.ipam === "object" && p.ipam !== null ? (p.ipam as Record<string, unknown>) : {};
    if (typeof ipam.type === "string" && ipam.type !== "") need.add(ipam.type);
    if (p.type === "flannel") {
      const d = typeof p.delegate === "object" && p.delegate !== null ? (p.delegate as Record<string, unknown>) : {};
      need.add(typeof d.type === "string" && d.type !== "" ? d.type : "bridge");
      if (!(typeof ipam.type === "string" && ipam.type !== "")) need.add("host-local");
    }
  }
  return [...need];
}

export function checkPlugins(config: NodeConfig): Finding[] {
  const { binDir } = config.paths;
  const entries = listBinDir(binDir);
  const installFix = `scripts/install.sh ${shellArg(binDir)}  (from a cni-ts checkout, after npm run build)`;
  if (typeof entries === "string")
    return [error("plugins", `plugin directory ${binDir} cannot be read: ${entries}`, installFix)];
  const findings: Finding[] = [];
  const ours = entries.filter((e) => e.release !== undefined);
  const others = entries.filter((e) => e.release === undefined);
  const releases = [...new Set(ours.map((e) => e.release))];
  if (ours.length > 0) {
    findings.push(
      info("plugins", `ours in ${binDir}: ${ours.map((e) => e.name).join(", ")} (cni-ts ${releases.join(", ")})`),
    );
  }
  if (releases.length > 1) {
    findings.push(
      warning(
        "plugins",
        `${binDir} mixes cni-ts releases ${releases.join(", ")}: ${ours.map((e) => `${e.name} ${e.release}`).join(", ")}`,
        installFix,
      ),
    );
  }
  if (others.length > 0)
    findings.push(info("plugins", `other executables in ${binDir}: ${others.map((e) => e.name).join(", ")}`));
  const ourPlugin = (name: string) => (PLUGIN_NAMES as readonly string[]).includes(name);
  for (const e of ours) {
    if (e.name === "cni-ts" || ourPlugin(e.name)) continue;
    const siblings = ours.filter((o) => o.ino === e.ino && o.name !== e.name).map((o) => o.name);
    findings.push(
      error(
        "plugins",
        `${join(binDir, e.name)} is our executable (same inode as ${siblings.join(", ") || "a cni-ts file"}) but "${e.name}" is no plugin of ours: a runtime running it gets no plugin`,
        `rm ${shellArg(join(binDir, e.name))}  and install the real ${e.name} plugin`,
      ),
    );
  }
  for (const e of others) {
    const siblings = others.filter((o) => o.ino === e.ino && o.name !== e.name).map((o) => o.name);
    if (!ourPlugin(e.name) || siblings.length === 0) continue;
    findings.push(
      warning(
        "plugins",
        `${join(binDir, e.name)} is not ours and is the same file (inode) as ${siblings.join(", ")}: a runtime running "${e.name}" runs that file`,
        installFix,
      ),
    );
  }
  const present = new Set(entries.map((e) => e.name));
  for (const net of config.networks) {
    for (const need of neededPlugins(net)) {
      if (present.has(need)) continue;
      const ourName = (PLUGIN_NAMES as readonly string[]).includes(need);
      findings.push(
        error(
          "plugins",
          `network ${net.name} (${net.file}) needs plugin "${need}", which is missing in ${binDir}: every pod ADD fails`,
          ourName ? installFix : `install the "${need}" plugin into ${binDir}`,
        ),
      );
    }
  }
  return findings;
}
