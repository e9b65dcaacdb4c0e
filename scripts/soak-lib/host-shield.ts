/**
 * The host's CNI directories, hidden behind private tmpfs mounts for this process and its
 * children. Only call it inside a mount namespace of its own (`ip netns exec` gives one, with
 * slave propagation, so nothing reaches the host). A plugin that wrongly falls back to a default
 * path writes into the tmpfs, where hostDirChanges() sees it; directories that do not exist must
 * keep not existing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

export const HOST_CNI_DIRS = ["/var/lib/cni", "/etc/cni", "/opt/cni", "/run/flannel"];

export function shieldHostDirs(dirs: readonly string[] = HOST_CNI_DIRS): string[] {
  const shielded: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m,mode=0755", "cni-ts-fuzz-shield", dir]);
    if (r.status !== 0) throw new Error(`cannot shield ${dir}: ${r.stderr?.toString()}`);
    shielded.push(dir);
  }
  return shielded;
}

export function hostDirChanges(shielded: readonly string[], dirs: readonly string[] = HOST_CNI_DIRS): string[] {
  const changed: string[] = [];
  for (const dir of dirs) {
    if (shielded.includes(dir)) {
      const left = readdirSync(dir);
      if (left.length > 0) changed.push(`${dir}/{${left.join(",")}}`);
    } else if (existsSync(dir)) changed.push(`${dir} (created)`);
  }
  return changed;
}

// Self-check entry (faults-hygiene.test.ts): shield DIRS, write MARKER into the first (which must
// exist) and create the second (which must not), report what hostDirChanges() saw.
//   bun scripts/soak-lib/host-shield.ts MARKER EXISTING_DIR MISSING_DIR
if (process.argv[1]?.endsWith("soak-lib/host-shield.ts") && process.argv[4]) {
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const [marker, existing, missing] = process.argv.slice(2) as [string, string, string];
  const dirs = [existing, missing];
  const shielded = shieldHostDirs(dirs);
  const before = hostDirChanges(shielded, dirs);
  writeFileSync(`${existing}/${marker}`, "x");
  mkdirSync(missing);
  process.stdout.write(JSON.stringify({ shielded, before, after: hostDirChanges(shielded, dirs) }));
}
