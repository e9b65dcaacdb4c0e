/**
 * containerd 1.6 (Debian) with its CRI plugin, run inside a sandbox node's network namespace so
 * every CNI call it makes happens there: its root, state, sockets and opt dir under the node's
 * directory, CNI bin_dir and conf_dir as given, and a pause image built locally from
 * busybox-static (containerd cannot pull here). What runtimes-podman-containerd.md found it needs:
 * restrict_oom_score_adj (no CAP_SYS_RESOURCE) and a loopback plugin in bin_dir. libcni's cache,
 * which containerd 1.6 cannot move, lands in a throwaway overlay over /var/lib (see startContainerd).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CriClient } from "./cri-client.js";
import { runCommand } from "../run-command.js";
import { TOOL_PATH } from "../paths.js";
import type { SandboxNode } from "../sandbox.js";
import { THROWAWAY_VAR_LIB } from "./private-var-lib.js";

export const PAUSE_IMAGE = "localhost/cts-pause:1";

export interface Containerd {
  cri: CriClient;
  socket: string;
  /** Stops containerd (the test removes its sandboxes first). */
  stop(): Promise<void>;
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** An OCI image archive whose entrypoint sleeps: /bin/busybox sleep. */
async function buildPauseImage(dir: string): Promise<string> {
  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
  const layerFile = join(dir, "layer.tar");
  await runCommand(["tar", "--owner=0", "--group=0", "--numeric-owner", "-C", rootfs, "-cf", layerFile, "bin"], {
    env: { PATH: TOOL_PATH },
  });
  const layer = readFileSync(layerFile);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Entrypoint: ["/bin/busybox", "sleep", "2147483647"] },
      rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layer)}`] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: `sha256:${sha256(config)}`,
        size: config.length,
      },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${sha256(layer)}`, size: layer.length },
      ],
    }),
  );
  const oci = join(dir, "oci");
  const blobs = join(oci, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  for (const blob of [layer, config, manifest]) writeFileSync(join(blobs, sha256(blob)), blob);
  writeFileSync(join(oci, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(oci, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: `sha256:${sha256(manifest)}`,
          size: manifest.length,
          annotations: { "io.containerd.image.name": PAUSE_IMAGE, "org.opencontainers.image.ref.name": "1" },
        },
      ],
    }),
  );
  const archive = join(dir, "pause.tar");
  await runCommand(["tar", "-C", oci, "-cf", archive, "."], { env: { PATH: TOOL_PATH } });
  return archive;
}

function configToml(dir: string, binDir: string, confDir: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${binDir}"
    conf_dir = "${confDir}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
`;
}

/** `env` reaches the plugins: containerd hands them its own environment. */
export async function startContainerd(
  node: SandboxNode,
  binDir: string,
  confDir: string,
  env: Record<string, string> = {},
): Promise<Containerd> {
  const dir = join(node.dir, "containerd");
  mkdirSync(dir, { recursive: true });
  const config = join(dir, "config.toml");
  writeFileSync(config, configToml(dir, binDir, confDir));
  const socket = join(dir, "containerd.sock");
  const log = join(dir, "containerd.log");
  writeFileSync(log, "");
  // containerd 1.6 gives libcni no cache dir, so libcni writes /var/lib/cni/results: containerd runs
  // in a private mount namespace whose /var/lib is an overlay with a throwaway upper layer, so the
  // machine's /var/lib/cni is never touched. nsenter, not `ip netns exec`: that remounts /sys for
  // the namespace and hides the cgroup mount runc needs.
  const varLib = join(dir, "var-lib");
  mkdirSync(varLib, { recursive: true });
  const privateVarLib = `${THROWAWAY_VAR_LIB} && exec "$@"`;
  const child = spawn(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      privateVarLib,
      varLib,
      "nsenter",
      `--net=${node.path}`,
      "--",
      "containerd",
      "--config",
      config,
      "--log-level",
      "info",
    ],
    {
      env: { PATH: TOOL_PATH, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  child.stderr.on("data", (b: Buffer) => writeFileSync(log, b, { flag: "a" }));
  let exited = false;
  child.on("exit", () => (exited = true));
  const stop = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const until = Date.now() + 10_000;
    while (!exited && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    if (!exited) child.kill("SIGKILL");
  };
  node.onTeardown(() => child.kill("SIGKILL"));
  const until = Date.now() + 30_000;
  while (!existsSync(socket) || !statSync(socket).isSocket()) {
    if (exited || Date.now() > until)
      throw new Error(`containerd did not start:\n${readFileSync(log, "utf8").slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const archive = await buildPauseImage(join(dir, "image"));
  await runCommand(["ctr", "--address", socket, "-n", "k8s.io", "images", "import", archive], {
    env: { PATH: TOOL_PATH },
  });
  const cri = new CriClient(socket);
  for (;;) {
    try {
      await cri.version();
      break;
    } catch (e) {
      if (exited || Date.now() > until)
        throw new Error(
          `containerd's CRI did not answer (${(e as Error).message}):\n${readFileSync(log, "utf8").slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    cri,
    socket,
    stop: async () => {
      cri.close();
      await stop();
    },
  };
}
