/**
 * Bad-input generators for every plugin and verb. Each generated case is a valid base invocation
 * with exactly one defect, and names the CNI error codes a correct plugin may answer with.
 * The bases point every path at the sandbox (dataDir, subnetFile, CNI_NETNS), so even a plugin
 * that wrongly accepted a case could only touch the sandbox.
 */
import { PLUGIN_NAMES, type PluginName } from "../../shared/plugins.js";
import * as fc from "fast-check";

export const FUZZ_PLUGINS = PLUGIN_NAMES;
export type FuzzPlugin = PluginName;
export type FuzzVerb = "ADD" | "DEL" | "CHECK" | "GC" | "STATUS";
const VERBS: readonly FuzzVerb[] = ["ADD", "DEL", "CHECK", "GC", "STATUS"];

/** Where the sandbox lives; every base config points inside it. */
export interface FuzzContext {
  /** The sandbox root: nothing outside its data dirs may change. */
  sandboxDir: string;
  /** host-local's dataDir and flannel's dataDir (the only places a plugin may write). */
  ipamDataDir: string;
  flannelDataDir: string;
  subnetFile: string;
  /** Broken subnet.env variants (missing keys, bad CIDR, CRLF, garbage), by what is wrong with them. */
  badSubnetFiles: string[];
  /** A path that exists but is a regular file (as a dataDir it cannot be a directory). */
  regularFile: string;
  /** A file whose content (SECRET) must never appear in any output. */
  secretFile: string;
  podNetns: string;
  cniPath: string;
  bridge: string;
  subnet: string;
  token: string;
}

export interface FuzzCase {
  plugin: FuzzPlugin;
  verb: string;
  category: string;
  env: Record<string, string>;
  stdin: Buffer;
  /** Acceptable error codes (the spec's meaning of the defect). */
  codes: readonly number[];
}

type Json = Record<string, unknown>;

/** The valid config each plugin gets before one defect is injected. cniVersion 1.1.0 allows every verb. */
export function baseConfig(plugin: FuzzPlugin, ctx: FuzzContext, cniVersion = "1.1.0"): Json {
  const ipam = { type: "host-local", ranges: [[{ subnet: ctx.subnet }]], dataDir: ctx.ipamDataDir };
  const name = `fz${ctx.token}`;
  switch (plugin) {
    case "bridge":
      return { cniVersion, name, type: "bridge", bridge: ctx.bridge, isGateway: true, ipMasq: true, ipam };
    case "host-local":
      // host-local receives its parent's whole config.
      return { cniVersion, name, type: "bridge", bridge: ctx.bridge, ipam };
    case "flannel":
      return {
        cniVersion,
        name,
        type: "flannel",
        subnetFile: ctx.subnetFile,
        dataDir: ctx.flannelDataDir,
        delegate: { hairpinMode: true, isDefaultGateway: true, bridge: ctx.bridge },
        ipam: { dataDir: ctx.ipamDataDir },
      };
    case "loopback":
      return { cniVersion, name, type: "loopback" };
    case "portmap":
      return {
        cniVersion,
        name,
        type: "portmap",
        capabilities: { portMappings: true },
        snat: true,
        runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }] },
        prevResult: prevResultFor(ctx, cniVersion),
      };
    case "bandwidth":
      return {
        cniVersion,
        name,
        type: "bandwidth",
        capabilities: { bandwidth: true },
        runtimeConfig: {
          bandwidth: { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 8_000_000, egressBurst: 800_000 },
        },
        prevResult: prevResultFor(ctx, cniVersion),
      };
  }
}

function prevResultFor(ctx: FuzzContext, cniVersion: string): Json {
  const ip = ctx.subnet.replace(/\.0\/24$/, ".9/24");
  const gw = ctx.subnet.replace(/\.0\/24$/, ".1");
  return {
    cniVersion,
    interfaces: [
      { name: ctx.bridge, mac: "0a:58:0a:00:00:01" },
      { name: "eth0", mac: "0a:58:0a:00:00:09", sandbox: ctx.podNetns },
    ],
    ips: [{ address: ip, gateway: gw, interface: 1 }],
  };
}

export function baseEnv(verb: string, ctx: FuzzContext, containerId = `fz-${ctx.token}-c`): Record<string, string> {
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: verb,
    CNI_PATH: ctx.cniPath,
  };
  if (verb === "ADD" || verb === "DEL" || verb === "CHECK") {
    env.CNI_CONTAINERID = containerId;
    env.CNI_NETNS = ctx.podNetns;
    env.CNI_IFNAME = "eth0";
  }
  return env;
}

// ---- hostile strings -------------------------------------------------------------------------

const traversal = fc.constantFrom("../", "../../etc/passwd", "..", "/etc/shadow", "a/../../b", "./x", "%2e%2e%2f");
const controlChar = fc.constantFrom("\u0000", "\n", "\r", "\t", " ", "\u001b", "\u007f", "\u2028", "\ufeff");
/** Strings that are never a valid id/name: a control character, slash or traversal somewhere inside. */
const hostileString = fc.oneof(
  traversal,
  fc.tuple(fc.string({ maxLength: 20 }), controlChar, fc.string({ maxLength: 20 })).map(([a, c, b]) => `${a}${c}${b}`),
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]{0,8}$/), fc.constantFrom("/", ":", "$(", "`", ";", "|", "'", '"', "\\", "*"))
    .map(([a, b]) => `${a}${b}x`),
  fc.constant("a".repeat(4096)),
  fc.constant(`${"x".repeat(4097)}`),
  fc.constantFrom("-rf", ".hidden", "_x", "é", "名前", "\u{1F600}"),
);
/** Container ids skel rejects: leading non-alphanumeric, characters outside [A-Za-z0-9_.-], or too long. */
const badContainerId = hostileString.filter((s) => !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s) || s.length > 1024);
const badIfname = fc.oneof(
  fc.constantFrom(".", "..", "a".repeat(16), "x".repeat(4096), "eth 0", "eth/0", "eth:0", "e\n0", "e\u00000", "e\t0"),
  hostileString.filter((s) => Buffer.byteLength(s) > 15 || /[/:\s\u0000]/u.test(s) || s === "." || s === ".."),
);
const badNetnsPath = fc.oneof(
  fc.constantFrom("netns", "../run/netns/x", "./x", "/run/netns/x\n/etc", "/x\u0000y", `/${"a".repeat(5000)}`),
);
const badNetworkName = fc.oneof(
  hostileString.filter((s) => s !== "" && (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s) || s.length > 256)),
  fc.constantFrom<unknown>(42, true, null, [], {}, ["a"]),
);

/** Values of the wrong JSON type for a field of the given kind. */
function wrongType(kind: "string" | "bool" | "number" | "object" | "array"): fc.Arbitrary<unknown> {
  const all: Record<string, fc.Arbitrary<unknown>> = {
    string: fc.string({ maxLength: 8 }),
    bool: fc.boolean(),
    // JSON has no Infinity: stringify would send null, a legal value.
    number: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    object: fc.constant({ a: 1 }),
    array: fc.constant([1, "x"]),
  };
  // null is not a wrong type: Go's encoding/json reads it as "absent", and so must we.
  const others = Object.entries(all)
    .filter(([k]) => k !== kind)
    .map(([, v]) => v);
  return fc.oneof(...others);
}

/** Plugin fields and their JSON kinds (the wrong-type category replaces one). Paths are dotted. */
const TYPED_FIELDS: Record<FuzzPlugin, [string, "string" | "bool" | "number" | "object" | "array"][]> = {
  bridge: [
    ["bridge", "string"],
    ["isGateway", "bool"],
    ["isDefaultGateway", "bool"],
    ["ipMasq", "bool"],
    ["mtu", "number"],
    ["hairpinMode", "bool"],
    ["promiscMode", "bool"],
    ["forceAddress", "bool"],
    ["vlan", "number"],
    ["ipam", "object"],
    ["ipam.ranges", "array"],
    ["ipam.dataDir", "string"],
  ],
  "host-local": [
    ["ipam", "object"],
    ["ipam.ranges", "array"],
    ["ipam.dataDir", "string"],
    ["ipam.routes", "array"],
  ],
  flannel: [
    ["subnetFile", "string"],
    ["dataDir", "string"],
    ["delegate", "object"],
    ["ipam", "object"],
  ],
  loopback: [],
  portmap: [
    ["snat", "bool"],
    ["runtimeConfig.portMappings", "array"],
    ["prevResult", "object"],
  ],
  bandwidth: [
    ["runtimeConfig.bandwidth", "object"],
    ["runtimeConfig.bandwidth.ingressRate", "number"],
    ["runtimeConfig.bandwidth.egressBurst", "number"],
    ["prevResult", "object"],
  ],
};

/** Fields DEL reads to find what to undo: a wrong type there must fail, anything else may be ignored. */
const DEL_NEEDS = ["ipam", "ipam.dataDir", "dataDir"];

function setPath(obj: Json, path: string, value: unknown): Json {
  const copy = structuredClone(obj);
  const keys = path.split(".");
  let cur: Json = copy;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== "object" || cur[k] === null) cur[k] = {};
    cur = cur[k] as Json;
  }
  cur[keys[keys.length - 1]!] = value;
  return copy;
}

const INVALID_SUBNETS = [
  "10.0.0.0/33",
  "300.1.1.0/24",
  "10.0.0.1/24",
  "10.1.2.0/31",
  "10.1.2.3/32",
  "fd00::/127",
  "fd00::1/64",
  "not-a-cidr",
  "",
  "10.0.0.0",
  "10.0.0.0/-1",
  "10.0.0.0/24/8",
  "::/129",
  "10.0.0.0/0x18",
  "1.2.3.4.5/24",
  " 10.0.0.0/24",
];

/** host-local range defects: each makes the range set invalid (upstream LoadIPAMConfig rejects all of these). */
function badRanges(ctx: FuzzContext): fc.Arbitrary<unknown> {
  const base = ctx.subnet.replace(/\.0\/24$/, "");
  return fc.oneof(
    fc.constantFrom(...INVALID_SUBNETS).map((subnet) => [[{ subnet }]]),
    fc.constant([[{ subnet: ctx.subnet, rangeStart: "192.0.2.10" }]]),
    fc.constant([[{ subnet: ctx.subnet, rangeEnd: "192.0.2.10" }]]),
    fc.constant([[{ subnet: ctx.subnet, rangeStart: `${base}.999` }]]),
    fc.constant([[{ subnet: ctx.subnet, gateway: "not-an-ip" }]]),
    fc.constant([[{ subnet: ctx.subnet }, { subnet: "fd00::/64" }]]),
    fc.constant([[{ subnet: ctx.subnet }, { subnet: ctx.subnet }]]),
    fc.constant([[{ subnet: ctx.subnet }], [{ subnet: ctx.subnet }]]),
    fc.constant([[]]),
    fc.constant([]),
    fc.constant([[{}]]),
  );
}

const SUPPORTED = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
const unknownVersion = fc.oneof(
  fc.constantFrom("9.9.9", "1.2.0", "0.0.1", "2.0.0", "1.0", "v1.0.0", "1.0.0 ", "1.0.0\n", "0.5.0", "1.1.0-rc1"),
  fc.stringMatching(/^\d{1,3}\.\d{1,3}\.\d{1,3}$/).filter((v) => !SUPPORTED.includes(v)),
);

/** Verbs whose env requirements include a container/ifname/netns. */
const ATTACHMENT_VERBS: readonly FuzzVerb[] = ["ADD", "DEL", "CHECK"];

function text(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** One defect on top of the base invocation of `plugin`/`verb`. */
function defects(
  plugin: FuzzPlugin,
  verb: FuzzVerb,
  ctx: FuzzContext,
): fc.Arbitrary<Omit<FuzzCase, "plugin" | "verb">>[] {
  const conf = baseConfig(plugin, ctx);
  const env = baseEnv(verb, ctx);
  const out: fc.Arbitrary<Omit<FuzzCase, "plugin" | "verb">>[] = [];
  const mk = (category: string, codes: readonly number[], e: Record<string, string>, stdin: Buffer) => ({
    category,
    codes,
    env: e,
    stdin,
  });
  const full = text(conf);

  out.push(
    fc.integer({ min: 0, max: full.length - 1 }).map((n) => mk("truncated-json", [6], env, full.subarray(0, n))),
    fc.constantFrom<unknown>([], [conf], 42, "str", null, true).map((v) => mk("not-an-object", [6], env, text(v))),
    fc
      .uint8Array({ minLength: 1, maxLength: 200 })
      .map((bytes) => Buffer.from(bytes))
      .filter((b) => !parsesToObject(b))
      .map((b) => mk("garbage-bytes", [6], env, b)),
    unknownVersion.map((v) => mk("unknown-version", [1], env, text({ ...conf, cniVersion: v }))),
    fc
      .constantFrom<unknown>(1, 1.1, true, ["1.0.0"], { v: 1 })
      .map((v) => mk("version-wrong-type", [7], env, text({ ...conf, cniVersion: v }))),
    badNetworkName.map((n) => mk("network-name", [7], env, text({ ...conf, name: n }))),
    fc.constant(mk("missing-name", [7], env, text({ ...conf, name: undefined }))),
  );
  // Plugin fields are judged where the plugin reads its config (GC/STATUS may legitimately not).
  const readsConfig = ATTACHMENT_VERBS.includes(verb);
  for (const [path, kind] of readsConfig ? TYPED_FIELDS[plugin] : []) {
    // DEL must tolerate what it does not need; it needs to know where its state lives.
    if (verb === "DEL" && !DEL_NEEDS.includes(path)) continue;
    const codes = path === "prevResult" ? [6, 7] : [7];
    out.push(wrongType(kind).map((v) => mk(`wrong-type:${path}`, codes, env, text(setPath(conf, path, v)))));
  }
  if ((verb === "ADD" || verb === "CHECK") && (plugin === "bridge" || plugin === "host-local")) {
    out.push(badRanges(ctx).map((r) => mk("invalid-ranges", [7], env, text(setPath(conf, "ipam.ranges", r)))));
  }
  if (plugin === "flannel" && verb === "ADD") {
    out.push(
      fc
        .constantFrom(...ctx.badSubnetFiles, `${ctx.sandboxDir}/no-such-dir/subnet.env`)
        .map((f) => mk("bad-subnet-env", [6, 7, 11], env, text({ ...conf, subnetFile: f }))),
      fc
        .constantFrom<unknown>({ name: "x" }, { ipam: {} }, { type: 7 })
        .map((d) => mk("flannel-delegate", [7], env, text({ ...conf, delegate: d }))),
      fc.constant(mk("subnet-file-secret", [6, 7, 11, 999], env, text({ ...conf, subnetFile: ctx.secretFile }))),
    );
  }
  if (plugin === "portmap" && (verb === "ADD" || verb === "CHECK")) {
    const prev = prevResultFor(ctx, "1.1.0");
    out.push(
      fc
        .constantFrom<unknown>(
          { ...prev, ips: [{ address: "10.0.0.300/24", interface: 1 }] },
          { ...prev, ips: [{ address: "not-an-ip", interface: 1 }] },
          { ...prev, ips: "x" },
          { ...prev, interfaces: [{ name: 5 }] },
          { ...prev, cniVersion: "9.9.9" },
          "not-an-object",
        )
        .map((p) => mk("prev-result", [1, 6, 7], env, text({ ...conf, prevResult: p }))),
      fc
        .constantFrom<unknown>(
          [{ hostPort: 70000, containerPort: 80, protocol: "tcp" }],
          [{ hostPort: -1, containerPort: 80, protocol: "tcp" }],
          [{ hostPort: 8080, containerPort: 0, protocol: "tcp" }],
          [{ hostPort: 8080, containerPort: 80, protocol: "icmp" }],
          [{ hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "999.1.1.1" }],
          [{ hostPort: "8080", containerPort: 80 }],
        )
        .map((pm) => mk("port-mappings", [7], env, text({ ...conf, runtimeConfig: { portMappings: pm } }))),
    );
  }
  if (plugin === "bandwidth" && verb !== "GC" && verb !== "STATUS") {
    // Upstream's rules (a rate needs a burst and the other way round, burst < 4 GB) and ours
    // (whole, non-negative numbers of at least 8 bits; no subnet lists, which tbf cannot honour).
    out.push(
      fc
        .constantFrom<unknown>(
          { ingressRate: 1_000_000 },
          { egressBurst: 80_000 },
          { ingressRate: 1_000_000, ingressBurst: 34_359_738_360 },
          { egressRate: -8, egressBurst: 80_000 },
          { ingressRate: 1.5, ingressBurst: 80_000 },
          { ingressRate: 4, ingressBurst: 80_000 },
          { egressRate: 1e300, egressBurst: 80_000 },
          { ingressRate: "1M", ingressBurst: 80_000 },
          {
            ingressRate: 1_000_000,
            ingressBurst: 80_000,
            shapedSubnets: ["10.0.0.0/8"],
            unshapedSubnets: ["10.1.0.0/16"],
          },
          { ingressRate: 1_000_000, ingressBurst: 80_000, unshapedSubnets: ["not-a-cidr"] },
          "not-an-object",
        )
        .map((bw) => mk("bandwidth-values", [7], env, text({ ...conf, runtimeConfig: { bandwidth: bw } }))),
    );
  }
  if (verb === "ADD" && plugin !== "loopback" && plugin !== "portmap" && plugin !== "bandwidth") {
    // Paths no file system can hold (NUL, over-long component) or that name a regular file.
    const key = plugin === "flannel" ? "dataDir" : "ipam.dataDir";
    out.push(
      fc
        .constantFrom(`${ctx.sandboxDir}/data/x\u0000y`, `${ctx.sandboxDir}/data/${"n".repeat(300)}`, ctx.regularFile)
        .map((p) => mk("unusable-data-dir", [5, 7], env, text(setPath(conf, key, p)))),
    );
  }
  if (verb === "ADD" && (plugin === "bridge" || plugin === "flannel")) {
    // A CNI_PATH where the delegate cannot be found (relative paths are left out: from the
    // runtime's cwd they may well resolve to a real plugin directory).
    out.push(
      fc
        .constantFrom(`/nonexistent-${ctx.token}`, `/${"p".repeat(4096)}`, `/tmp\n/usr/lib/cni-${ctx.token}`, "::")
        .map((p) => mk("delegate-not-found", [999], { ...env, CNI_PATH: p }, full)),
    );
  }
  if (
    (verb === "ADD" || verb === "CHECK") &&
    (plugin === "bridge" || plugin === "loopback" || plugin === "flannel" || plugin === "bandwidth")
  ) {
    // Well-formed paths that are not a network namespace, for the plugins that enter it (host-local
    // and portmap never look at CNI_NETNS): nothing may be built before that is found out.
    out.push(
      fc
        .constantFrom(`/var/run/netns/nonexistent-${ctx.token}`, ctx.regularFile, ctx.sandboxDir)
        .map((p) => mk("not-a-netns", [4, 8, 999], { ...env, CNI_NETNS: p }, full)),
    );
  }
  if (verb === "ADD" && (plugin === "bridge" || plugin === "host-local" || plugin === "flannel")) {
    // CNI_ARGS: broken pairs (code 4), unparsable requested IPs (7), a requested IP outside the ranges.
    const outside = "192.0.2.9";
    out.push(
      fc
        .constantFrom<[string, number[]]>(
          ["novalue", [4]],
          ["IgnoreUnknown=1;IP=not-an-ip", [7]],
          ["IgnoreUnknown=1;IP=10.0.0.300", [7]],
          [`IgnoreUnknown=1;IP=${"9".repeat(4096)}`, [7]],
          [`IgnoreUnknown=1;IP=${outside}`, [7, 999]],
        )
        .map(([args, codes]) => mk("cni-args", codes, { ...env, CNI_ARGS: args }, full)),
    );
  }
  if (plugin === "bridge" && verb === "CHECK") {
    const prev = prevResultFor(ctx, "1.1.0");
    out.push(
      fc
        .constantFrom<unknown>(
          undefined,
          { ...prev, ips: [{ address: "10.0.0.300/24", interface: 1 }] },
          { ...prev, ips: [{ address: `${ctx.subnet.replace(/0\/24$/, "9/24")}`, interface: 7 }] },
          { ...prev, interfaces: "eth0" },
          { cniVersion: "0.2.0", ip4: { ip: "10.0.0.2/24" } },
          { ...prev, cniVersion: "9.9.9" },
        )
        .map((p) => mk("prev-result", [1, 6, 7, 999], env, text({ ...conf, prevResult: p }))),
    );
  }
  if (ATTACHMENT_VERBS.includes(verb)) {
    out.push(
      badContainerId.map((id) => mk("container-id", [4], { ...env, CNI_CONTAINERID: id }, full)),
      badIfname.map((n) => mk("ifname", [4], { ...env, CNI_IFNAME: n }, full)),
      fc
        .constantFrom("CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH")
        .map((k) => mk("missing-env", [4], { ...env, [k]: "" }, full)),
    );
    if (verb !== "DEL") {
      out.push(
        badNetnsPath.map((p) => mk("netns-path", [4], { ...env, CNI_NETNS: p }, full)),
        fc.constantFrom("/proc/self/ns/net").map((p) => mk("own-netns", [8], { ...env, CNI_NETNS: p }, full)),
        fc.constant(mk("missing-env", [4], { ...env, CNI_NETNS: "" }, full)),
      );
    }
  } else {
    out.push(fc.constant(mk("missing-env", [4], { ...env, CNI_PATH: "" }, full)));
  }
  out.push(
    fc
      .constantFrom("FOO", "add", "Add ", "VERSION2", "DEL\n", "$(id)")
      .map((c) => mk("unknown-verb", [4], { ...env, CNI_COMMAND: c }, full)),
  );
  if (verb === "CHECK") {
    out.push(
      fc.constantFrom("0.3.1", "0.2.0").map((v) => mk("verb-gated", [1], env, text({ ...conf, cniVersion: v }))),
    );
  }
  if (verb === "GC" || verb === "STATUS") {
    out.push(
      fc.constantFrom("1.0.0", "0.4.0").map((v) => mk("verb-gated", [1], env, text({ ...conf, cniVersion: v }))),
    );
  }
  return out;
}

/** Oversized stdin (> 1 MiB) is rare and costly, so it is its own small arbitrary. */
export function oversizedCase(ctx: FuzzContext): fc.Arbitrary<FuzzCase> {
  return fc
    .record({
      plugin: fc.constantFrom(...FUZZ_PLUGINS),
      verb: fc.constantFrom(...VERBS),
      extra: fc.integer({ min: 1, max: 4096 }),
    })
    .map(({ plugin, verb, extra }) => {
      const conf = { ...baseConfig(plugin, ctx), pad: "x".repeat((1 << 20) + extra) };
      return { plugin, verb, category: "oversized", codes: [6], env: baseEnv(verb, ctx), stdin: text(conf) };
    });
}

function parsesToObject(b: Buffer): boolean {
  try {
    const v: unknown = JSON.parse(b.toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** Every plugin × verb × defect, weighted evenly per plugin/verb. */
export function fuzzCase(ctx: FuzzContext, opts: { plugins?: readonly FuzzPlugin[] } = {}): fc.Arbitrary<FuzzCase> {
  const arms: fc.Arbitrary<FuzzCase>[] = [];
  for (const plugin of opts.plugins ?? FUZZ_PLUGINS) {
    for (const verb of VERBS) {
      const ds = defects(plugin, verb, ctx);
      arms.push(fc.oneof(...ds).map((d) => ({ ...d, plugin, verb: d.env.CNI_COMMAND ?? verb })));
    }
  }
  return fc.oneof(...arms);
}

/** Environment values a real process cannot receive (execve rejects NUL). */
export function execable(c: FuzzCase): boolean {
  return Object.values(c.env).every((v) => !v.includes("\u0000"));
}
