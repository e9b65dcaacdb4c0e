import { describe, expect, it } from "vitest";
import { runPlugin, type Io } from "./dispatch.js";
import { CniError, ErrorCode } from "./errors.js";
import type { Invocation, Plugin } from "./plugin.js";
import { emptyResult } from "./result.js";

interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
  calls: Invocation[];
}

const plugin = (over: Partial<Plugin> = {}, calls: Invocation[] = []): Plugin => ({
  name: "fake",
  about: "CNI fake plugin",
  add: (inv) => {
    calls.push(inv);
    return { ...emptyResult(inv.cniVersion), ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1" }] };
  },
  del: (inv) => {
    calls.push(inv);
  },
  ...over,
});

const baseEnv = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "ctr-1",
  CNI_NETNS: "/var/run/netns/does-not-exist",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin",
};

async function invoke(env: Record<string, string>, stdin: string | Buffer, p?: Partial<Plugin>): Promise<Outcome> {
  let stdout = "";
  let stderr = "";
  const calls: Invocation[] = [];
  const io: Io = {
    readStdin: () => (Buffer.isBuffer(stdin) ? stdin : Buffer.from(stdin)),
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  };
  const status = await runPlugin(plugin(p, calls), env, io);
  return { status, stdout, stderr, calls };
}

const conf = (o: Record<string, unknown> = {}) =>
  JSON.stringify({ cniVersion: "1.0.0", name: "net1", type: "fake", ...o });

function expectError(o: Outcome, code: number, msg: RegExp): void {
  expect(o.status).toBe(1);
  const err = JSON.parse(o.stdout);
  expect(err.code).toBe(code);
  expect(err.msg).toMatch(msg);
  expect(o.stdout.endsWith("\n")).toBe(false);
  expect(o.stdout).not.toMatch(/\n\s+at /); // never a stack trace on stdout
}

describe("environment validation", () => {
  it("names every missing variable in skel's order with code 4", async () => {
    const o = await invoke({ CNI_COMMAND: "ADD" }, conf());
    expectError(o, 4, /^required env variables \[CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH\] missing$/);
  });

  it("does not require CNI_NETNS on DEL", async () => {
    const o = await invoke({ ...baseEnv, CNI_COMMAND: "DEL", CNI_NETNS: "" }, conf());
    expect(o.status).toBe(0);
    expect(o.stdout).toBe("");
  });

  it("needs only CNI_PATH for GC and STATUS", async () => {
    const o = await invoke({ CNI_COMMAND: "STATUS", CNI_PATH: "/x" }, conf({ cniVersion: "1.1.0" }));
    expect(o.status).toBe(0);
    const missing = await invoke({ CNI_COMMAND: "GC" }, conf({ cniVersion: "1.1.0" }));
    expectError(missing, 4, /\[CNI_PATH\] missing/);
  });

  it.each([
    ["-leading-dash", /invalid characters in containerID/],
    ["has space", /invalid characters in containerID/],
    ["../../etc", /invalid characters in containerID/],
    ["a\nb", /invalid characters in containerID/],
  ])("rejects container id %j with code 4", async (id, msg) => {
    expectError(await invoke({ ...baseEnv, CNI_CONTAINERID: id }, conf()), 4, msg);
  });

  it.each([
    ["a".repeat(16), /interface name is too long/],
    [".", /interface name is \. or \.\./],
    ["..", /interface name is \. or \.\./],
    ["et/h0", /contains \/ or : or whitespace/],
    ["eth:0", /contains \/ or : or whitespace/],
    ["eth 0", /contains \/ or : or whitespace/],
    ["eth\t0", /contains \/ or : or whitespace/],
  ])("rejects interface name %j with code 4", async (ifname, msg) => {
    expectError(await invoke({ ...baseEnv, CNI_IFNAME: ifname }, conf()), 4, msg);
  });

  it("accepts a 15-byte interface name", async () => {
    const o = await invoke({ ...baseEnv, CNI_IFNAME: "a".repeat(15) }, conf());
    expect(o.status).toBe(0);
  });

  it("rejects a relative or multi-line CNI_NETNS with code 4", async () => {
    expectError(await invoke({ ...baseEnv, CNI_NETNS: "netns/x" }, conf()), 4, /invalid CNI_NETNS/);
    expectError(await invoke({ ...baseEnv, CNI_NETNS: "/run/netns/x\n/etc" }, conf()), 4, /invalid CNI_NETNS/);
  });

  it("refuses to act on the plugin's own netns with code 8 before calling the handler", async () => {
    const o = await invoke({ ...baseEnv, CNI_NETNS: "/proc/self/ns/net" }, conf());
    expectError(o, 8, /should not be the same/);
    expect(o.calls).toHaveLength(0);
    const overridden = await invoke({ ...baseEnv, CNI_NETNS: "/proc/self/ns/net", CNI_NETNS_OVERRIDE: "true" }, conf());
    expect(overridden.status).toBe(0);
  });

  it("prints the about text on stderr and exits 0 without CNI_COMMAND", async () => {
    const o = await invoke({}, "");
    expect(o.status).toBe(0);
    expect(o.stdout).toBe("");
    expect(o.stderr).toContain("CNI fake plugin");
    expect(o.stderr).toContain("CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0");
  });
});

describe("VERSION", () => {
  it("lists every supported version and echoes the requested cniVersion", async () => {
    const o = await invoke({ CNI_COMMAND: "VERSION" }, '{"cniVersion":"0.3.1"}');
    expect(o.stdout).toBe(
      '{"cniVersion":"0.3.1","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n',
    );
  });

  it("answers with the latest version when stdin is empty or garbage", async () => {
    for (const stdin of ["", "not json", '{"cniVersion":"9.9.9"}']) {
      const o = await invoke({ CNI_COMMAND: "VERSION" }, stdin);
      expect(o.status).toBe(0);
      expect(JSON.parse(o.stdout).cniVersion).toBe("1.1.0");
    }
  });

  it("answers libcni's probe (dummy netns/ifname/path, empty container id)", async () => {
    const env = {
      CNI_COMMAND: "VERSION",
      CNI_NETNS: "dummy",
      CNI_IFNAME: "dummy",
      CNI_PATH: "dummy",
      CNI_CONTAINERID: "",
    };
    const o = await invoke(env, '{"cniVersion":"1.0.0"}');
    expect(o.status).toBe(0);
  });
});

describe("config and version checks", () => {
  it("gives code 6 for undecodable stdin", async () => {
    expectError(await invoke(baseEnv, "{not json"), 6, /^error unmarshall network config/);
    expectError(await invoke(baseEnv, "[1,2]"), 6, /expected a JSON object/);
    expectError(await invoke(baseEnv, ""), 6, /error unmarshall network config/);
  });

  it("gives code 6 for oversized input without parsing it", async () => {
    const big = Buffer.alloc(2 << 20, 0x20);
    expectError(await invoke(baseEnv, big), 6, /more than the \d+ allowed/);
  });

  it("gives code 7 for a missing or invalid network name", async () => {
    expectError(await invoke(baseEnv, '{"cniVersion":"1.0.0"}'), 7, /^missing network name$/);
    expectError(await invoke(baseEnv, conf({ name: "../etc" })), 7, /^invalid characters found in network name$/);
    expectError(await invoke(baseEnv, conf({ name: 42 })), 7, /^invalid characters found in network name$/);
  });

  it("gives code 1 for an unsupported cniVersion, naming what we support", async () => {
    const o = await invoke(baseEnv, conf({ cniVersion: "9.9.9" }));
    expectError(o, 1, /^incompatible CNI versions$/);
    expect(JSON.parse(o.stdout).details).toBe(
      'config is "9.9.9", plugin supports ["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]',
    );
  });

  it("treats a missing cniVersion as 0.1.0 and prints a 0.1.0 result", async () => {
    const o = await invoke(baseEnv, JSON.stringify({ name: "n", type: "fake" }));
    expect(o.status).toBe(0);
    expect(JSON.parse(o.stdout)).toEqual({
      cniVersion: "0.1.0",
      ip4: { ip: "10.0.0.2/24", gateway: "10.0.0.1" },
      dns: {},
    });
  });

  it("gates CHECK below 0.4.0 and GC/STATUS below 1.1.0 with code 1", async () => {
    expectError(
      await invoke({ ...baseEnv, CNI_COMMAND: "CHECK" }, conf({ cniVersion: "0.3.1" })),
      1,
      /config version does not allow CHECK/,
    );
    expectError(
      await invoke({ CNI_COMMAND: "GC", CNI_PATH: "/x" }, conf({ cniVersion: "1.0.0" })),
      1,
      /config version does not allow GC/,
    );
    expectError(
      await invoke({ CNI_COMMAND: "STATUS", CNI_PATH: "/x" }, conf({ cniVersion: "0.4.0" })),
      1,
      /config version does not allow STATUS/,
    );
  });

  it("succeeds silently for GC/STATUS/CHECK a plugin does not implement", async () => {
    for (const verb of ["GC", "STATUS"]) {
      const o = await invoke({ CNI_COMMAND: verb, CNI_PATH: "/x" }, conf({ cniVersion: "1.1.0" }));
      expect(o).toMatchObject({ status: 0, stdout: "" });
    }
  });

  it("rejects an unknown verb with code 4, but only after the config is valid", async () => {
    expectError(await invoke({ ...baseEnv, CNI_COMMAND: "FOO" }, conf()), 4, /^unknown CNI_COMMAND: FOO$/);
    expectError(await invoke({ ...baseEnv, CNI_COMMAND: "FOO" }, "nope"), 6, /unmarshall/);
  });

  it("prints the ADD result in the config's version", async () => {
    const o = await invoke(baseEnv, conf({ cniVersion: "0.3.1" }));
    expect(JSON.parse(o.stdout)).toEqual({
      cniVersion: "0.3.1",
      ips: [{ version: "4", address: "10.0.0.2/24", gateway: "10.0.0.1" }],
      dns: {},
    });
  });

  it("keeps unknown fields in raw for delegates and parses prevResult of the config's version", async () => {
    const prevResult = { cniVersion: "0.4.0", ips: [{ version: "4", address: "10.0.0.9/24" }] };
    const o = await invoke(
      { ...baseEnv, CNI_COMMAND: "DEL" },
      conf({ cniVersion: "0.4.0", custom: { a: 1 }, prevResult }),
    );
    expect(o.status).toBe(0);
    const inv = o.calls[0]!;
    expect(inv.raw.custom).toEqual({ a: 1 });
    expect(inv.prevResult()?.ips).toEqual([{ address: "10.0.0.9/24" }]);
  });
});

describe("handler failures", () => {
  it("prints a CniError with its code and details", async () => {
    const o = await invoke(baseEnv, conf(), {
      add: () => {
        throw new CniError(ErrorCode.TryAgainLater, "subnet.env missing", "start flanneld");
      },
    });
    expect(o.stdout).toBe(`{
    "cniVersion": "1.0.0",
    "code": 11,
    "msg": "subnet.env missing",
    "details": "start flanneld"
}`);
  });

  it("turns an unexpected crash into code 999 with a one-line message; the stack goes to stderr", async () => {
    const o = await invoke(baseEnv, conf(), {
      add: () => {
        throw new TypeError("boom\nsecond line");
      },
    });
    expectError(o, 999, /^boom$/);
    expect(o.stderr).toMatch(/TypeError: boom/);
  });
});

describe("trace context in the debug trace", () => {
  const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const traced = async (extra: Record<string, string>) => {
    const { mkdtempSync, readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const log = join(mkdtempSync(join(tmpdir(), "cni-ts-trace-")), "trace.log");
    const o = await invoke({ ...baseEnv, SECRET_TOKEN: "do-not-log", ...extra }, conf({ debugLog: log }));
    return { o, line: readFileSync(log, "utf8") };
  };

  it("records a valid TRACEPARENT/TRACESTATE and nothing else from the environment", async () => {
    const { o, line } = await traced({ TRACEPARENT: PARENT, TRACESTATE: "congo=t61rcWkgMzE" });
    expect(o.status).toBe(0);
    const rec = JSON.parse(line);
    expect(rec.traceparent).toBe(PARENT);
    expect(rec.tracestate).toBe("congo=t61rcWkgMzE");
    expect(line).not.toContain("do-not-log");
  });

  it("leaves out malformed values and says so", async () => {
    const { line } = await traced({ TRACEPARENT: '00-zz-evil","injected":"1', TRACESTATE: "a=1" });
    const rec = JSON.parse(line);
    expect(rec.traceparent).toBeUndefined();
    expect(rec.tracestate).toBeUndefined();
    expect(line).not.toContain("injected");
    expect(rec.notes).toEqual(["malformed TRACEPARENT and TRACESTATE ignored (not logged, not passed to delegates)"]);
  });
});
