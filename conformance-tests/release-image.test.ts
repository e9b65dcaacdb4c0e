/**
 * The installer image from dist/release: skopeo reads its multi-arch index, `podman load` takes
 * it (into a private store), its default command installs the plugins into a sandbox node's bin
 * directory mounted at /host/opt/cni/bin, and a podman container then comes up through that
 * directory with the kube-flannel conflist.
 */
import { mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLUGIN_NAMES } from "../shared/plugins.js";
import { contains } from "./lib/cluster/addressing.js";
import { sh } from "./lib/run-command.js";
import { nodeByName } from "./lib/cluster/pods.js";
import type { ClusterState } from "./lib/cluster/state.js";
import { createCluster, nodeSubnetOf, teardownCluster } from "./lib/cluster/cluster.js";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { ImagePodman } from "./lib/runtimes/image-podman.js";
import { OURS_BIN } from "./lib/paths.js";
import { PodmanSandbox, ensurePodmanPackages } from "./lib/runtimes/podman.js";
import {
  IMAGE_ARCHIVE,
  IMAGE_REFERENCE,
  RELEASE_VERSION,
  requireRelease,
  scratchDir,
} from "./lib/release-artifacts.js";

const scratch = scratchDir("cts-release-image-");
let images: ImagePodman;
let state: ClusterState | undefined;
let runtime: PodmanSandbox | undefined;

beforeAll(async () => {
  requireRelease([IMAGE_ARCHIVE]);
  await ensurePodmanPackages();
  await ensureCnitool();
  images = new ImagePodman(join(scratch.dir, "images"));
}, 600_000);

afterAll(async () => {
  const left = runtime ? await runtime.tearDown() : [];
  const problems = state ? await teardownCluster(state) : [];
  await images?.remove();
  scratch.remove();
  expect({ podmanLeftovers: left, teardown: problems }).toEqual({ podmanLeftovers: [], teardown: [] });
});

describe("the installer image", () => {
  it("is an OCI index of linux/amd64 and linux/arm64 whose entry point is cni-ts, default command install", async () => {
    const raw = JSON.parse((await sh(["skopeo", "inspect", "--raw", `oci-archive:${IMAGE_ARCHIVE}`])).stdout);
    expect(raw.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(raw.manifests.map((m: { platform: object }) => m.platform)).toEqual([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux" },
    ]);
    for (const arch of ["amd64", "arm64"]) {
      const config = JSON.parse(
        (await sh(["skopeo", "--override-arch", arch, "inspect", "--config", `oci-archive:${IMAGE_ARCHIVE}`])).stdout,
      );
      expect(config.architecture).toBe(arch);
      expect(config.config.Entrypoint).toEqual(["/cni-ts"]);
      expect(config.config.Cmd).toEqual(["install", "--bin-dir", "/host/opt/cni/bin"]);
      expect(config.config.Labels["org.opencontainers.image.version"]).toBe(RELEASE_VERSION);
    }
  });

  it("the arm64 image holds the loader and the four libraries its executable links, and runs from its root under qemu-aarch64-static -L", async () => {
    const layout = join(scratch.dir, "layout");
    const rootfs = join(scratch.dir, "rootfs-arm64");
    mkdirSync(layout);
    mkdirSync(rootfs);
    await sh(["tar", "-xf", IMAGE_ARCHIVE, "-C", layout]);
    const blob = (digest: string) => join(layout, "blobs", digest.replace(":", "/"));
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    const list = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
    const arm64 = list.manifests.find(
      (m: { platform: { architecture: string } }) => m.platform.architecture === "arm64",
    );
    const manifest = JSON.parse(readFileSync(blob(arm64.digest), "utf8"));
    for (const layer of manifest.layers) await sh(["tar", "-xzf", blob(layer.digest), "-C", rootfs]);
    expect(readdirSync(join(rootfs, "lib", "aarch64-linux-gnu")).sort()).toEqual([
      "libc.so.6",
      "libdl.so.2",
      "libm.so.6",
      "libpthread.so.0",
    ]);
    expect(statSync(join(rootfs, "lib", "ld-linux-aarch64.so.1")).isFile()).toBe(true);
    const r = await sh(["/usr/bin/qemu-aarch64-static", "-L", rootfs, join(rootfs, "cni-ts"), "--version"]);
    expect(r.stdout).toMatch(
      new RegExp(`^cni-ts v${RELEASE_VERSION.replaceAll(".", "\\.")} \\(commit \\S+, bun-linux-arm64\\)\\n$`),
    );
  });

  it("podman load, then its default command installs into a node's bin dir, and a container comes up through it", async () => {
    const loaded = await images.podman(["load", "-i", IMAGE_ARCHIVE]);
    expect(loaded.stdout).toContain(`Loaded image: ${IMAGE_REFERENCE}`);
    const version = await images.podman(["run", "--rm", "--network", "none", IMAGE_REFERENCE, "--version"]);
    expect(version.stdout).toMatch(
      new RegExp(`^cni-ts v${RELEASE_VERSION.replaceAll(".", "\\.")} \\(commit \\S+, bun-linux-x64-baseline\\)\\n$`),
    );

    const installer = join(scratch.dir, "install-from-image");
    images.writeInstallerScript(installer, IMAGE_REFERENCE);
    state = await createCluster({
      backend: "host-gw",
      nodes: 2,
      pluginDir: OURS_BIN,
      cnitool: await ensureCnitool(),
      installer,
    });
    const bin = state.binDir;
    expect(readdirSync(bin).sort()).toEqual(["cni-ts", ...PLUGIN_NAMES].sort());
    expect(statSync(join(bin, "bridge")).ino).toBe(statSync(join(bin, "cni-ts")).ino);
    expect(statSync(join(bin, "flannel")).ino).not.toBe(statSync(join(bin, "cni-ts")).ino);
    // Idempotent: the init container runs on every restart of its pod.
    const again = await sh([installer, bin]);
    expect(again.stdout).toContain(`in /host/opt/cni/bin: 0 changed, ${1 + PLUGIN_NAMES.length} unchanged`);

    const node = nodeByName(state, "node1");
    runtime = new PodmanSandbox(state, node);
    await runtime.setUp();
    await runtime.run("c1");
    const address = await runtime.address("c1");
    expect(contains(nodeSubnetOf(state, node), address), address).toBe(true);
    expect(await runtime.ping("c1", address)).toBe(true);
    await runtime.podman(["rm", "-f", "-t", "0", "c1"]);
  });
});
