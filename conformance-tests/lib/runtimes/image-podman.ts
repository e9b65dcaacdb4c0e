/**
 * Podman with a private image store (vfs under `dir`) for loading and running the release's
 * installer image: never the machine's container storage, which other tests use. podman (through
 * containers/image) also writes a blob-info cache to /var/lib/containers/cache as root, whatever
 * its storage configuration says, so every podman runs in a private mount namespace whose /var/lib
 * is an overlay with a throwaway upper layer. Containers run with `--network none`, so nothing here
 * makes a network (and the network config dir podman insists on creating is in `dir`, not
 * /etc/cni/net.d); runc's state directory /run/runc is removed afterwards only if this store
 * created it and it is empty.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sh } from "../run-command.js";
import type { CommandResult } from "../run-command.js";
import { THROWAWAY_VAR_LIB } from "./private-var-lib.js";

export class ImagePodman {
  private readonly env: Record<string, string>;
  private readonly runcDirExisted = existsSync("/run/runc");

  constructor(readonly dir: string) {
    for (const d of ["storage", "run", "tmp", "var-lib", "net.d"]) mkdirSync(join(dir, d), { recursive: true });
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
        // Even with --network none, podman's CNI backend creates its config dir and a cni.lock in
        // it: keep that in the store, never in the machine's /etc/cni/net.d.
        "[network]",
        'network_backend = "cni"',
        `network_config_dir = "${join(dir, "net.d")}"`,
        "",
      ].join("\n"),
    );
    writeFileSync(
      this.env.CONTAINERS_STORAGE_CONF!,
      `[storage]\ndriver = "vfs"\ngraphroot = "${join(dir, "storage")}"\nrunroot = "${join(dir, "run")}"\n`,
    );
  }

  podman(args: readonly string[], opts: { check?: boolean } = {}): Promise<CommandResult> {
    return sh(this.argv(args), { env: this.env, check: opts.check ?? true, timeoutMs: 180_000, duringTeardown: true });
  }

  /** `podman ARGS` in a private mount namespace with a throwaway /var/lib (see the class comment). */
  private argv(args: readonly string[]): string[] {
    const setUp = `${THROWAWAY_VAR_LIB} && exec podman "$@"`;
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", setUp, join(this.dir, "var-lib"), ...args];
  }

  /** A shell script `SCRIPT BIN_DIR` that installs from the image into BIN_DIR (cluster.ts's installer hook). */
  writeInstallerScript(file: string, image: string): void {
    const quote = (a: string) => `'${a}'`;
    const env = Object.entries(this.env)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(" ");
    const podman = this.argv(["run", "--rm", "--network", "none", "-v", "BIN_DIR:/host/opt/cni/bin", image])
      .map(quote)
      .join(" ");
    const script = `#!/bin/sh\nmkdir -p "$1" && exec env ${env} ${podman.replace("'BIN_DIR:", `"$1"':`)}\n`;
    writeFileSync(file, script, { mode: 0o755 });
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
