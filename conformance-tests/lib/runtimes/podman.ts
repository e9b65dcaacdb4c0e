/**
 * Podman 4 (Debian) with its CNI backend, run inside a sandbox node's network namespace
 * (`nsenter --net`, so the bridge our plugin creates lands in the node, not in the root
 * namespace), with private containers.conf/storage.conf, a busybox-static rootfs (no image
 * pull) and runc (crun cannot run on this machine's hybrid cgroups).
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { kubeFlannelConflist } from "../cluster/conflist.js";
import { sh } from "../run-command.js";
import type { ClusterState, NodeState } from "../cluster/state.js";
import { THROWAWAY_VAR_LIB } from "./private-var-lib.js";

/** What busybox httpd in a container serves (hostPort checks). */
export const WEB_PAGE = "hello from a podman container behind portmap";

export const PODMAN_PACKAGES = ["podman", "runc", "busybox-static", "catatonit"];

/** runc's state directory, which podman 4.3 uses whatever its configuration (removed only if we created it). */
const SHARED_DIRS = ["/run/runc"];

export async function ensurePodmanPackages(): Promise<void> {
  const missing: string[] = [];
  for (const p of PODMAN_PACKAGES) {
    const r = await sh(["dpkg-query", "-W", "-f=${Status}", p], { check: false });
    if (!r.stdout.includes("install ok installed")) missing.push(p);
  }
  if (!missing.length) return;
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await sh(["apt-get", "update", "-q"], { env, timeoutMs: 300_000 });
  await sh(
    [
      "apt-get",
      "install",
      "-y",
      "-q",
      "--no-install-recommends",
      "-o",
      "Dpkg::Options::=--path-exclude=/etc/cni",
      "-o",
      "Dpkg::Options::=--path-exclude=/etc/cni/*",
      ...missing,
    ],
    { env, timeoutMs: 600_000 },
  );
}

export interface Container {
  name: string;
  id: string;
}

export class PodmanSandbox {
  readonly dir: string;
  readonly rootfs: string;
  readonly containers: Container[] = [];
  /** Netns bind mounts podman made for our containers (/run/netns/netns-<uuid>). */
  readonly sandboxKeys = new Set<string>();
  private readonly env: Record<string, string>;
  private readonly sharedDirsExisted: Map<string, boolean>;
  /**
   * Podman's CNI backend gives libcni no cache directory, so libcni writes /var/lib/cni/results.
   * Every podman (and the conmon it leaves behind) runs in one private mount namespace, held by
   * this process, whose /var/lib is an overlay with a throwaway upper layer and whose
   * /var/lib/cni is `libcniDir`: the machine's /var/lib/cni is never touched, and the
   * namespace's netns mounts stay visible from one podman to the next.
   */
  private holder: ChildProcess | undefined;
  readonly libcniDir: string;

  constructor(
    readonly state: ClusterState,
    readonly node: NodeState,
  ) {
    this.dir = join(state.baseDir, `podman-${node.name}`);
    this.rootfs = join(this.dir, "rootfs");
    this.libcniDir = join(this.dir, "libcni");
    this.sharedDirsExisted = new Map(SHARED_DIRS.map((d) => [d, existsSync(d)]));
    this.env = {
      HOME: this.dir,
      CONTAINERS_CONF: join(this.dir, "containers.conf"),
      CONTAINERS_STORAGE_CONF: join(this.dir, "storage.conf"),
    };
  }

  /** Private configs, the node's kube-flannel conflist as podman's only network, the rootfs. */
  async setUp(): Promise<void> {
    for (const d of ["net.d", "storage", "run", "tmp", "libcni", "var-lib"])
      mkdirSync(join(this.dir, d), { recursive: true });
    await this.startHolder();
    const nofile = await hardLimit("--nofile");
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    const nproc = Math.min(await hardLimit("--nproc"), pidMax);
    writeFileSync(
      this.env.CONTAINERS_CONF!,
      [
        "[containers]",
        'netns = "bridge"',
        // Root without CAP_SYS_RESOURCE: podman's default 1048576 limits fail in runc's setrlimit.
        `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
        "[network]",
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${this.state.binDir}"]`,
        `network_config_dir = "${join(this.dir, "net.d")}"`,
        "[engine]",
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `tmp_dir = "${join(this.dir, "tmp")}"`,
        "",
      ].join("\n"),
    );
    writeFileSync(
      this.env.CONTAINERS_STORAGE_CONF!,
      `[storage]\ndriver = "overlay"\ngraphroot = "${join(this.dir, "storage")}"\nrunroot = "${join(this.dir, "run")}"\n`,
    );
    writeFileSync(
      join(this.dir, "net.d", "10-flannel.conflist"),
      `${JSON.stringify(kubeFlannelConflist(this.node), null, 2)}\n`,
    );
    await this.makeRootfs();
  }

  private async makeRootfs(): Promise<void> {
    const r = this.rootfs;
    for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "run", "root"])
      mkdirSync(join(r, d), { recursive: true });
    copyFileSync("/bin/busybox", join(r, "bin/busybox"));
    chmodSync(join(r, "bin/busybox"), 0o755);
    const applets = (await sh([join(r, "bin/busybox"), "--list"])).stdout
      .split("\n")
      .filter((a) => a && a !== "busybox");
    for (const a of applets) symlinkSync("busybox", join(r, "bin", a));
    writeFileSync(join(r, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    writeFileSync(join(r, "etc/group"), "root:x:0:\n");
    mkdirSync(join(r, "www"));
    writeFileSync(join(r, "www/index.html"), `${WEB_PAGE}\n`);
  }

  private async startHolder(): Promise<void> {
    const ready = join(this.dir, "holder.ready");
    const setUp = `${THROWAWAY_VAR_LIB} && mkdir -p /var/lib/cni && mount --bind "$1" /var/lib/cni && touch "$2" && exec sleep 86400`;
    const holder = spawn(
      "unshare",
      ["--mount", "--propagation", "slave", "sh", "-c", setUp, join(this.dir, "var-lib"), this.libcniDir, ready],
      { stdio: "ignore" },
    );
    this.holder = holder;
    for (let i = 0; i < 200 && !existsSync(ready); i++) {
      if (holder.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!existsSync(ready)) throw new Error("podman's private mount namespace did not come up");
  }

  /** podman with the private configs, in the private mount namespace and the node's network namespace. */
  podman(args: readonly string[], opts: { check?: boolean } = {}) {
    const mnt = `--mount=/proc/${this.holder!.pid}/ns/mnt`;
    return sh(["nsenter", mnt, `--net=/run/netns/${this.node.netns}`, "--", "podman", ...args], {
      env: this.env,
      check: opts.check ?? true,
      duringTeardown: true,
    });
  }

  /** `podman run -d` of the busybox rootfs: sleep by default, or `command`; `publish` as for -p. */
  async run(name: string, opts: { publish?: string; command?: string[] } = {}): Promise<Container> {
    const publish = opts.publish ? ["-p", opts.publish] : [];
    const r = await this.podman([
      "run",
      "-d",
      "--name",
      name,
      "--network",
      this.state.networkName,
      ...publish,
      "--rootfs",
      this.rootfs,
      ...(opts.command ?? ["/bin/sleep", "3600"]),
    ]);
    const c = { name, id: r.stdout.trim() };
    this.containers.push(c);
    await this.rememberSandboxKey(name);
    return c;
  }

  async rememberSandboxKey(name: string): Promise<string> {
    const key = (await this.podman(["inspect", "-f", "{{.NetworkSettings.SandboxKey}}", name])).stdout.trim();
    if (key) this.sandboxKeys.add(key);
    return key;
  }

  async address(name: string): Promise<string> {
    const f = `{{(index .NetworkSettings.Networks "${this.state.networkName}").IPAddress}}`;
    return (await this.podman(["inspect", "-f", f, name])).stdout.trim();
  }

  /** Pings from inside a container (busybox ping): true when replies came back. */
  async ping(name: string, address: string): Promise<boolean> {
    const r = await this.podman(["exec", name, "ping", "-c", "2", "-W", "2", address], { check: false });
    return r.status === 0;
  }

  /** libcni cache entries podman wrote for our containers and has not removed. */
  cachedResults(): string[] {
    return this.containers
      .map((c) => join(this.libcniDir, "results", `${this.state.networkName}-${c.id}-eth0`))
      .filter((p) => existsSync(p));
  }

  /**
   * Removes our containers (private storage: every container there is ours), then only the
   * entries podman left outside its directories for them, and shared dirs we created if empty.
   */
  async tearDown(): Promise<string[]> {
    const left: string[] = [];
    await this.podman(["rm", "-a", "-f", "-t", "0"], { check: false });
    for (const p of this.cachedResults()) {
      left.push(p);
      rmSync(p, { force: true });
    }
    for (const key of this.sandboxKeys) {
      if (existsSync(key)) {
        left.push(key);
        await sh(["umount", key], { check: false, duringTeardown: true });
        rmSync(key, { force: true });
      }
    }
    this.holder?.kill("SIGKILL");
    for (const [d, existed] of this.sharedDirsExisted) {
      if (!existed) {
        try {
          rmdirSync(d); // only when empty: another run may be using it
        } catch {
          /* not empty or already gone */
        }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    return left;
  }
}

async function hardLimit(which: "--nofile" | "--nproc"): Promise<number> {
  const out = (await sh(["prlimit", which, "--output", "HARD", "--noheadings"])).stdout.trim();
  return out === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(out);
}
