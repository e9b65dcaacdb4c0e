import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sh } from "./cluster-exec.js";
import type { CommandResult } from "./run-command.js";

/**
 * Podman with a private image store (vfs under `dir`) for loading and running the release's
 * installer image: never the machine's container storage, which other tests use. Containers run
 * with `--network none`, so nothing here makes a network; runc's state directory /run/runc is
 * removed afterwards only if this store created it and it is empty.
 */
export class ImagePodman {
  private readonly env: Record<string, string>;
  private readonly runcDirExisted = existsSync("/run/runc");

  constructor(readonly dir: string) {
    for (const d of ["storage", "run", "tmp"]) mkdirSync(join(dir, d), { recursive: true });
    this.env = {
      HOME: dir,
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      CONTAINERS_CONF: join(dir, "containers.conf"),
      CONTAINERS_STORAGE_CONF: join(dir, "storage.conf"),
    };
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
    writeFileSync(
      this.env.CONTAINERS_CONF!,
      [
        "[containers]",
        // Root without CAP_SYS_RESOURCE cannot raise limits beyond the hard ones (see podman-sandbox.ts).
        `default_ulimits = ["nofile=1024:1024", "nproc=${Math.min(pidMax, 4096)}:${Math.min(pidMax, 4096)}"]`,
        "[engine]",
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `tmp_dir = "${join(dir, "tmp")}"`,
        "",
      ].join("\n"),
    );
    writeFileSync(this.env.CONTAINERS_STORAGE_CONF!, `[storage]\ndriver = "vfs"\ngraphroot = "${join(dir, "storage")}"\nrunroot = "${join(dir, "run")}"\n`);
  }

  podman(args: readonly string[], opts: { check?: boolean } = {}): Promise<CommandResult> {
    return sh(["podman", ...args], { env: this.env, check: opts.check ?? true, timeoutMs: 180_000, duringTeardown: true });
  }

  /** A shell script `SCRIPT BIN_DIR` that installs from the image into BIN_DIR (cluster.ts's installer hook). */
  writeInstallerScript(file: string, image: string): void {
    const env = Object.entries(this.env).map(([k, v]) => `${k}='${v}'`).join(" ");
    writeFileSync(file, `#!/bin/sh\nmkdir -p "$1" && exec env ${env} podman run --rm --network none -v "$1:/host/opt/cni/bin" '${image}'\n`, { mode: 0o755 });
  }

  async remove(): Promise<void> {
    await this.podman(["rm", "-a", "-f", "-t", "0"], { check: false });
    await this.podman(["rmi", "-a", "-f"], { check: false });
    rmSync(this.dir, { recursive: true, force: true });
    if (!this.runcDirExisted) {
      try {
        rmdirSync("/run/runc");
      } catch {
        // not empty (another run uses it) or already gone
      }
    }
  }
}
