import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { delegate } from "../../shared/cni/delegate.js";
import type { CniEnv, Verb } from "../../shared/cni/env.js";
import { CniError } from "../../shared/cni/errors.js";
import { cniRejectionOf } from "../../conformance-tests/lib/unit/cni-error.js";
import { buildInvocation } from "../../shared/cni/invocation.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import { emptyResult, type Result } from "../../shared/cni/result.js";
import { Trace } from "../../shared/cni/trace.js";
import { plugin } from "./index.js";

// The seam: the delegate module, replaced here by a recording double (findInPath stays real).
vi.mock("../../shared/cni/delegate.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../shared/cni/delegate.js")>()),
  delegate: vi.fn(),
}));

const SUBNET_ENV =
  "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
const UPSTREAM_SAVED =
  '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}';

interface Call {
  type: string;
  verb: Verb;
  config: Record<string, unknown>;
  bytes: string;
}

let dir: string;
let calls: Call[];
let failWith: CniError | undefined;

const fakeDelegate: typeof delegate = async (_inv, type, verb, config) => {
  const bytes = Buffer.isBuffer(config) ? config.toString() : JSON.stringify(config);
  calls.push({ type, verb, config: JSON.parse(bytes) as Record<string, unknown>, bytes });
  if (failWith) throw failWith;
  return verb === "ADD"
    ? { ...emptyResult("0.3.1"), ips: [{ address: "10.244.1.2/24", gateway: "10.244.1.1" }] }
    : undefined;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "flannel-verbs-"));
  writeFileSync(join(dir, "subnet.env"), SUBNET_ENV);
  calls = [];
  failWith = undefined;
  vi.mocked(delegate).mockImplementation(fakeDelegate);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const dataDir = () => join(dir, "data");
const saved = (name = "ctr1") => join(dataDir(), name);

function inv(
  verb: Verb,
  extra: Record<string, unknown> = {},
  envOver: Partial<Omit<CniEnv, "path">> & { path?: string } = {},
): Invocation {
  const conf = {
    cniVersion: "0.3.1",
    name: "cbr0",
    type: "flannel",
    delegate: { hairpinMode: true, isDefaultGateway: true },
    subnetFile: join(dir, "subnet.env"),
    dataDir: dataDir(),
    ...extra,
  };
  const env = {
    command: verb,
    containerId: "ctr1",
    netns: "/proc/1/ns/net",
    ifname: "eth0",
    args: "",
    netnsOverride: false,
    ...envOver,
    path: [envOver.path ?? "/nowhere"],
  };
  return buildInvocation(verb, env, Buffer.from(JSON.stringify(conf)), {}, new Trace());
}

// The saved file's bytes and permissions must match upstream exactly.
describe("ADD", () => {
  it("saves upstream's exact bytes (0600 in a 0700 dir), then delegates them to bridge", async () => {
    const result = (await plugin.add(inv("ADD"))) as Result;
    expect(readFileSync(saved(), "utf8")).toBe(UPSTREAM_SAVED);
    expect(statSync(saved()).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir()).mode & 0o777).toBe(0o700);
    expect(calls).toEqual([{ type: "bridge", verb: "ADD", config: JSON.parse(UPSTREAM_SAVED), bytes: UPSTREAM_SAVED }]);
    expect(result.ips[0]?.address).toBe("10.244.1.2/24");
    expect(readdirSync(dataDir())).toEqual(["ctr1"]); // no temp file left
  });

  it("a second interface of the container gets its own file instead of overwriting the first", async () => {
    await plugin.add(inv("ADD"));
    await plugin.add(inv("ADD", { name: "other" }, { ifname: "net1" }));
    expect(readdirSync(dataDir()).sort()).toEqual(["ctr1", "ctr1@net1"]);
    expect(JSON.parse(readFileSync(saved(), "utf8")).name).toBe("cbr0");
    expect(JSON.parse(readFileSync(saved("ctr1@net1"), "utf8")).name).toBe("other");
  });

  it("keeps upstream's prefix and the delegate's code on failure; the file stays for the DEL", async () => {
    failWith = new CniError(7, "bad bridge");
    const err = await cniRejectionOf(plugin.add(inv("ADD")));
    expect(err.code).toBe(7);
    expect(err.message).toBe("failed to delegate add: bad bridge");
    expect(existsSync(saved())).toBe(true);
  });

  it("without subnet.env: code 11, nothing saved, nothing delegated", async () => {
    rmSync(join(dir, "subnet.env"));
    const err = await cniRejectionOf(plugin.add(inv("ADD")));
    expect(err.code).toBe(11);
    expect(err.message).toMatch(
      /^failed to load flannel 'subnet.env' file: open .*subnet.env: no such file or directory/,
    );
    expect(calls).toEqual([]);
    expect(existsSync(dataDir())).toBe(false);
  });

  it("an unwritable dataDir is an I/O error before anything is delegated", async () => {
    writeFileSync(dataDir(), "a file, not a directory");
    const err = await cniRejectionOf(plugin.add(inv("ADD")));
    expect(err.code).toBe(5);
    expect(calls).toEqual([]);
  });
});

describe("DEL", () => {
  it("delegates the saved bytes (written in upstream's format) and removes the file afterwards", async () => {
    mkdirSync(dataDir(), { mode: 0o700 });
    writeFileSync(saved(), UPSTREAM_SAVED, { mode: 0o600 });
    rmSync(join(dir, "subnet.env")); // DEL must not need it
    await plugin.del(inv("DEL"));
    expect(calls).toEqual([{ type: "bridge", verb: "DEL", config: JSON.parse(UPSTREAM_SAVED), bytes: UPSTREAM_SAVED }]);
    expect(existsSync(saved())).toBe(false);
  });

  it("keeps the file when the delegate fails, so the runtime's retry releases the address", async () => {
    await plugin.add(inv("ADD"));
    failWith = new CniError(11, "busy");
    const err = await cniRejectionOf(plugin.del(inv("DEL")));
    expect(err.message).toBe("failed to delegate del: busy");
    expect(err.code).toBe(11);
    expect(existsSync(saved())).toBe(true);
    failWith = undefined;
    await plugin.del(inv("DEL"));
    expect(existsSync(saved())).toBe(false);
  });

  it("a missing file: releases with the config rebuilt from subnet.env", async () => {
    await plugin.del(inv("DEL"));
    expect(calls.map((c) => [c.verb, c.bytes])).toEqual([["DEL", UPSTREAM_SAVED]]);
  });

  it("an empty (crash-truncated) file: releases with the rebuilt config and removes it", async () => {
    mkdirSync(dataDir());
    writeFileSync(saved(), "");
    await plugin.del(inv("DEL"));
    expect(calls.map((c) => c.bytes)).toEqual([UPSTREAM_SAVED]);
    expect(existsSync(saved())).toBe(false);
  });

  it("no file and no subnet.env: borrows another saved config of the same network", async () => {
    mkdirSync(dataDir());
    writeFileSync(saved("other-pod"), UPSTREAM_SAVED.replace("10.244.1.0/24", "10.244.9.0/24"));
    writeFileSync(saved("foreign"), UPSTREAM_SAVED.replace('"cbr0"', '"othernet"'));
    utimesSync(saved("foreign"), new Date(), new Date(Date.now() + 60_000)); // newer, but another network
    rmSync(join(dir, "subnet.env"));
    await plugin.del(inv("DEL", { runtimeConfig: { portMappings: [] } }));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.config.name).toBe("cbr0");
    expect(calls[0]?.config.ipam).toMatchObject({ ranges: [[{ subnet: "10.244.9.0/24" }]] });
    expect(calls[0]?.config.runtimeConfig).toEqual({ portMappings: [] });
  });

  it("nothing at all: tries a bare release and succeeds even if the delegate refuses it", async () => {
    rmSync(join(dir, "subnet.env"));
    failWith = new CniError(7, "no IP ranges specified");
    await plugin.del(inv("DEL", { ipam: { dataDir: "/x" } }));
    expect(calls[0]?.config).toMatchObject({
      name: "cbr0",
      type: "bridge",
      ipam: { type: "host-local", dataDir: "/x" },
    });
  });

  it("a second interface falls back to the legacy file only when it is of the same network", async () => {
    mkdirSync(dataDir());
    writeFileSync(saved(), UPSTREAM_SAVED.replace('"cbr0"', '"othernet"'));
    await plugin.del(inv("DEL", {}, { ifname: "net1" }));
    expect(calls[0]?.bytes).toBe(UPSTREAM_SAVED); // rebuilt, not othernet's
    expect(existsSync(saved())).toBe(true);
    writeFileSync(saved(), UPSTREAM_SAVED.replace("10.244.1.0/24", "10.244.5.0/24"));
    await plugin.del(inv("DEL", {}, { ifname: "net1" }));
    expect(calls[1]?.bytes).toContain("10.244.5.0/24");
    expect(existsSync(saved())).toBe(false);
  });

  it("a config ADD refused (delegate with a name) does not block the DEL that follows", async () => {
    await cniRejectionOf(plugin.add(inv("ADD", { delegate: { name: "x" } })));
    await plugin.del(inv("DEL", { delegate: { name: "x" } }));
    expect(calls.map((c) => [c.verb, c.config.name])).toEqual([["DEL", "cbr0"]]);
  });

  it("an empty CNI_NETNS is passed on (the delegate releases without a namespace)", async () => {
    await plugin.add(inv("ADD"));
    await plugin.del(inv("DEL", {}, { netns: "" }));
    expect(calls.map((c) => c.verb)).toEqual(["ADD", "DEL"]);
    expect(existsSync(saved())).toBe(false);
  });
});

describe("CHECK, GC, STATUS", () => {
  it("CHECK delegates the saved config with the runtime's prevResult and version", async () => {
    await plugin.add(inv("ADD"));
    const prevResult = { cniVersion: "1.0.0", ips: [{ address: "10.244.1.2/24" }] };
    await plugin.check?.(inv("CHECK", { cniVersion: "1.0.0", prevResult }));
    expect(calls[1]?.verb).toBe("CHECK");
    expect(calls[1]?.config).toMatchObject({ cniVersion: "1.0.0", prevResult, mtu: 1450, type: "bridge" });
  });

  it("GC forwards the valid attachments and prunes saved configs of this network that are not valid", async () => {
    mkdirSync(dataDir());
    writeFileSync(saved("keep"), UPSTREAM_SAVED);
    writeFileSync(saved("keep@net1"), UPSTREAM_SAVED);
    writeFileSync(saved("gone"), UPSTREAM_SAVED);
    writeFileSync(saved("gone@net1"), UPSTREAM_SAVED);
    writeFileSync(saved("keep@net2"), UPSTREAM_SAVED);
    writeFileSync(saved("corrupt"), "{");
    writeFileSync(saved("foreign"), UPSTREAM_SAVED.replace('"cbr0"', '"othernet"'));
    writeFileSync(saved(".old.1.ab.tmp"), "");
    utimesSync(saved(".old.1.ab.tmp"), new Date(0), new Date(0));
    writeFileSync(saved(".new.1.cd.tmp"), "");
    const valid = [
      { containerID: "keep", ifname: "eth0" },
      { containerID: "keep", ifname: "net1" },
    ];
    await plugin.gc?.(inv("GC", { cniVersion: "1.1.0", "cni.dev/valid-attachments": valid }));
    expect(calls[0]?.verb).toBe("GC");
    expect(calls[0]?.config).toMatchObject({ cniVersion: "1.1.0", "cni.dev/valid-attachments": valid, name: "cbr0" });
    expect(readdirSync(dataDir()).sort()).toEqual([".new.1.cd.tmp", "foreign", "keep", "keep@net1"]);
  });

  it("GC keeps every file when the delegate fails, and reads the draft key cni.dev/attachments", async () => {
    mkdirSync(dataDir());
    writeFileSync(saved("gone"), UPSTREAM_SAVED);
    failWith = new CniError(999, "nope");
    const attachments = [{ containerID: "x", ifname: "eth0" }];
    const err = await cniRejectionOf(
      plugin.gc!(inv("GC", { cniVersion: "1.1.0", "cni.dev/attachments": attachments })),
    );
    expect(err.message).toBe("failed to delegate gc: nope");
    expect(calls[0]?.config["cni.dev/valid-attachments"]).toEqual(attachments);
    expect(existsSync(saved("gone"))).toBe(true);
  });

  it("STATUS is code 50 without a complete subnet.env or delegate executable, else forwards to the delegate", async () => {
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "bridge"), "");
    writeFileSync(join(dir, "subnet.env"), "FLANNEL_NETWORK=10.244.0.0/16\n");
    let err = await cniRejectionOf(plugin.status!(inv("STATUS", { cniVersion: "1.1.0" })));
    expect(err.code).toBe(50);
    expect(err.message).toMatch(/is missing FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ/);
    rmSync(join(dir, "subnet.env"));
    err = await cniRejectionOf(plugin.status!(inv("STATUS", { cniVersion: "1.1.0" })));
    expect(err.code).toBe(50);
    expect(calls).toEqual([]);
    writeFileSync(join(dir, "subnet.env"), SUBNET_ENV);
    err = await cniRejectionOf(plugin.status!(inv("STATUS", { cniVersion: "1.1.0" }, { path: "/nowhere" })));
    expect(err.code).toBe(50);
    expect(err.message).toBe('failed to delegate status: failed to find plugin "bridge" in path [/nowhere]');
    expect(calls).toEqual([]);
    await plugin.status!(inv("STATUS", { cniVersion: "1.1.0" }, { path: join(dir, "bin") }));
    expect(calls[0]).toMatchObject({ verb: "STATUS", type: "bridge", config: { cniVersion: "1.1.0", mtu: 1450 } });
  });

  it("a read-only dataDir makes DEL fail (file kept) rather than silently succeed", async () => {
    if (process.getuid?.() === 0) return; // root ignores permissions; covered by the I/O error path in ADD
    await plugin.add(inv("ADD"));
    chmodSync(dataDir(), 0o500);
    try {
      await expect(plugin.del(inv("DEL"))).rejects.toThrow(/failed to remove/);
    } finally {
      chmodSync(dataDir(), 0o700);
    }
  });
});
