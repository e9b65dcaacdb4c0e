/**
 * deploy/kube-flannel rendered with `kubectl kustomize` (skipped without kubectl) against a local
 * manifest of kube-flannel v0.28.4's shape in place of the release URL: the installer init
 * container, the optional cniVersion 1.1.0 and resident components. The resident container's
 * command is then run as written against a sandbox node standing in for the host (PID 1 of the
 * manifest becomes a process in the node's network namespace): plugins started in that namespace
 * and mount namespace, as the runtime starts them, are served; plugins started by `ip netns exec`
 * (another mount namespace) run their calls themselves.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OURS_BIN, REPO_ROOT, TOOL_PATH, requireOursBuilt } from "./lib/paths.js";
import { runCommand } from "./lib/run-command.js";
import type { SandboxNode } from "./lib/sandbox.js";
import { useSandbox } from "./lib/use-sandbox.js";

const KUBECTL = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].find((p) => existsSync(p));
const BUN = join(REPO_ROOT, "node_modules", ".bin", "bun");
const RELEASE_URL = "https://github.com/flannel-io/flannel/releases/download/v0.28.4/kube-flannel.yml";

/** The parts of kube-flannel v0.28.4's manifest the overlay and its components patch. */
const KUBE_FLANNEL_SHAPE = `apiVersion: v1
kind: Namespace
metadata:
  name: kube-flannel
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
data:
  cni-conf.json: |
    {"name": "cbr0", "cniVersion": "0.3.1", "plugins": [{"type": "flannel", "delegate": {"hairpinMode": true, "isDefaultGateway": true}}, {"type": "portmap", "capabilities": {"portMappings": true}}]}
  net-conf.json: |
    {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-flannel-ds
  namespace: kube-flannel
spec:
  selector:
    matchLabels:
      app: flannel
  template:
    metadata:
      labels:
        app: flannel
    spec:
      hostNetwork: true
      serviceAccountName: flannel
      initContainers:
        - name: install-cni-plugin
          image: ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1
          command: ["cp"]
          args: ["-f", "/flannel", "/opt/cni/bin/flannel"]
          volumeMounts:
            - name: cni-plugin
              mountPath: /opt/cni/bin
        - name: install-cni
          image: ghcr.io/flannel-io/flannel:v0.28.4
          command: ["cp"]
          args: ["-f", "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"]
      containers:
        - name: kube-flannel
          image: ghcr.io/flannel-io/flannel:v0.28.4
          command: ["/opt/bin/flanneld"]
          args: ["--ip-masq", "--kube-subnet-mgr"]
          securityContext:
            privileged: false
      volumes:
        - name: cni-plugin
          hostPath:
            path: /opt/cni/bin
`;

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  securityContext?: { privileged?: boolean };
}
interface Doc {
  kind: string;
  data?: Record<string, string>;
  spec?: { template: { spec: { hostPID?: boolean; initContainers: Container[]; containers: Container[] } } };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The overlay copied beside the local manifest, with the named components enabled, rendered. */
function render(components: string[]): Doc[] {
  const dir = mkdtempSync(join(tmpdir(), "cni-ts-kustomize-"));
  dirs.push(dir);
  cpSync(join(REPO_ROOT, "deploy", "kube-flannel"), dir, { recursive: true });
  writeFileSync(join(dir, "kube-flannel.yml"), KUBE_FLANNEL_SHAPE);
  const file = join(dir, "kustomization.yaml");
  let text = readFileSync(file, "utf8");
  expect(text).toContain(RELEASE_URL);
  text = text.replace(RELEASE_URL, "kube-flannel.yml");
  for (const c of components) {
    expect(text).toContain(`#   - ${c}\n`);
    text = text.replace("# components:\n", "components:\n").replace(`#   - ${c}\n`, `  - ${c}\n`);
  }
  writeFileSync(file, text);
  const out = spawnSync(KUBECTL!, ["kustomize", dir], { encoding: "utf8" });
  expect(out.stderr).toBe("");
  expect(out.status).toBe(0);
  const json = spawnSync(BUN, ["-e", "console.log(JSON.stringify(Bun.YAML.parse(await Bun.stdin.text())))"], {
    input: out.stdout,
    encoding: "utf8",
  });
  expect(json.status).toBe(0);
  return JSON.parse(json.stdout) as Doc[];
}

function podSpec(docs: Doc[]) {
  const ds = docs.find((d) => d.kind === "DaemonSet");
  expect(ds).toBeDefined();
  return ds!.spec!.template.spec;
}

describe.skipIf(KUBECTL === undefined)("deploy/kube-flannel (kubectl kustomize)", () => {
  it("replaces install-cni-plugin with our installer and adds nothing else by default", () => {
    const spec = podSpec(render([]));
    expect(spec.initContainers.map((c) => c.name)).toEqual(["install-cni-plugin", "install-cni"]);
    expect(spec.initContainers[0]).toMatchObject({
      image: "REGISTRY/cni-ts:0.1.0",
      command: ["/cni-ts"],
      args: ["install", "--bin-dir", "/opt/cni/bin", "--replace"],
    });
    expect(spec.containers.map((c) => c.name)).toEqual(["kube-flannel"]);
    expect(spec.hostPID).toBeUndefined();
  });

  it("component resident: one more container running the host's cni-ts serve in PID 1's mount and network namespace", () => {
    const spec = podSpec(render(["resident"]));
    expect(spec.hostPID).toBe(true);
    // Strategic merge puts the new container first; the order of a pod's containers means nothing.
    expect(spec.containers.map((c) => c.name).sort()).toEqual(["cni-ts-resident", "kube-flannel"]);
    const resident = spec.containers.find((c) => c.name === "cni-ts-resident")!;
    expect(resident.command).toEqual([
      "nsenter",
      "--target",
      "1",
      "--mount",
      "--net",
      "--",
      "/opt/cni/bin/cni-ts",
      "serve",
    ]);
    expect(resident.securityContext?.privileged).toBe(true);
    // The installer and flanneld are untouched (flanneld stays unprivileged).
    expect(spec.initContainers[0]!.image).toBe("REGISTRY/cni-ts:0.1.0");
    expect(spec.containers.find((c) => c.name === "kube-flannel")!.securityContext?.privileged).toBe(false);
  });

  it("both components together", () => {
    const docs = render(["cni-1.1.0", "resident"]);
    const conf = JSON.parse(docs.find((d) => d.kind === "ConfigMap")!.data!["cni-conf.json"]!) as {
      cniVersion: string;
    };
    expect(conf.cniVersion).toBe("1.1.0");
    expect(
      podSpec(docs)
        .containers.map((c) => c.name)
        .sort(),
    ).toEqual(["cni-ts-resident", "kube-flannel"]);
  });
});

/** Waits until the process has entered the node's network namespace (nsenter ran). */
async function waitForNetns(pid: number, node: SandboxNode): Promise<void> {
  const want = statSync(node.path).ino;
  for (let i = 0; i < 250; i++) {
    try {
      if (statSync(`/proc/${pid}/ns/net`).ino === want) return;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`process ${pid} never entered ${node.path}`);
}

describe.skipIf(KUBECTL === undefined)("the resident container's command on a sandbox node", () => {
  const sandbox = useSandbox();

  /** A loopback ADD in a pod of the node, traced; returns the trace line's pid and resident mark. */
  async function loopbackAdd(node: SandboxNode, enter: string[], socket: string, log: string) {
    const pod = await node.addPod();
    const r = await runCommand([...enter, join(OURS_BIN, "loopback")], {
      env: {
        PATH: TOOL_PATH,
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: pod.name,
        CNI_NETNS: pod.path,
        CNI_IFNAME: "lo",
        CNI_PATH: OURS_BIN,
        CNI_TS_SOCKET: socket,
        CNI_TS_DEBUG_LOG: log,
      },
      input: JSON.stringify({ cniVersion: "1.0.0", name: "lo", type: "loopback" }),
      check: false,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = readFileSync(log, "utf8").trim().split("\n");
    rmSync(log);
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!) as { pid: number; resident?: boolean };
  }

  it("serves plugins started in the target's network and mount namespace, not those of another mount namespace", async () => {
    requireOursBuilt();
    const spec = podSpec(render(["resident"]));
    const command = spec.containers.find((c) => c.name === "cni-ts-resident")!.command!;
    const node = await sandbox.node();
    const socket = join(node.workDir, "resident", "plugins.sock");
    // The node's "PID 1": a process in its network namespace and in a mount namespace of its own
    // (a copy of this one), so a command that entered only its network namespace would be declined.
    const init = spawn(
      "unshare",
      ["--mount", "--propagation", "unchanged", "nsenter", `--net=${node.path}`, "--", "sleep", "600"],
      { stdio: "ignore" },
    );
    const children: ChildProcess[] = [init];
    node.onTeardown(() => children.forEach((c) => c.kill("SIGKILL")));
    await waitForNetns(init.pid!, node);
    // The manifest's command, with that process for PID 1, our build for the host's, a private socket.
    const argv = command
      .map((a) => (a === "1" ? String(init.pid) : a === "/opt/cni/bin/cni-ts" ? join(OURS_BIN, "cni-ts") : a))
      .concat(["--socket", socket]);
    const service = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], env: { PATH: TOOL_PATH } });
    children.push(service);
    let serviceErr = "";
    service.stderr!.on("data", (b: Buffer) => (serviceErr += b.toString()));
    for (let i = 0; i < 250 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(socket), serviceErr).toBe(true);

    const log = join(node.workDir, "trace.log");
    // As the runtime on the host starts a plugin: in PID 1's network and mount namespace.
    const runtime = ["nsenter", `--target=${init.pid}`, "--mount", "--net", "--"];
    const served = await loopbackAdd(node, runtime, socket, log);
    expect(served).toMatchObject({ pid: service.pid, resident: true });
    // `ip netns exec` gives the plugin a mount namespace of its own: the service declines it.
    const own = await loopbackAdd(node, ["ip", "netns", "exec", node.name], socket, log);
    expect(own.resident).toBeUndefined();
    expect(own.pid).not.toBe(service.pid);

    service.kill("SIGTERM");
    await new Promise((r) => service.once("close", r));
    expect(existsSync(socket)).toBe(false);
  });
});
