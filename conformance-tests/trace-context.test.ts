/**
 * W3C trace context through the compiled executable: flannel (ours) execs a delegate that is not
 * ours (a recording fake "bridge"). A valid TRACEPARENT/TRACESTATE appears in flannel's debug
 * trace line and reaches the delegate; malformed ones reach neither; nothing else from the
 * environment is logged.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { expectOk } from "./lib/cni-calls.js";
import { fakePluginCalls, writeFakePlugin } from "./lib/fake-plugin.js";
import { requireOursBuilt } from "./lib/paths.js";
import { useSandbox } from "./lib/use-sandbox.js";

beforeAll(() => requireOursBuilt(["flannel"]));

const PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

describe("trace context", () => {
  const sandbox = useSandbox();

  it("is logged and passed to exec'd delegates when valid, dropped when malformed", async () => {
    const node = await sandbox.node({ impl: "ours", privateBin: true });
    const fake = writeFakePlugin(node.binDir, "bridge", {
      addResult: { cniVersion: "1.0.0", ips: [{ address: "10.244.1.2/24", gateway: "10.244.1.1" }] },
    });
    const subnetFile = join(node.workDir, "subnet.env");
    writeFileSync(
      subnetFile,
      "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
    );
    const log = join(node.workDir, "trace.log");
    const conf = {
      cniVersion: "1.0.0",
      name: node.uniqueName("tc-"),
      type: "flannel",
      subnetFile,
      dataDir: join(node.workDir, "flannel"),
      debugLog: log,
    };
    const pod = await node.addPod("a");

    const env = { TRACEPARENT: PARENT, TRACESTATE: STATE, CNI_TS_UNRELATED: "not-for-the-log" };
    expectOk(await node.invoke("flannel", "ADD", conf, pod, { env }), "ADD with trace context");
    expectOk(
      await node.invoke("flannel", "DEL", conf, pod, { env: { TRACEPARENT: "00-not-a-trace-id", TRACESTATE: STATE } }),
      "DEL with a malformed TRACEPARENT",
    );

    const [add, del] = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(add).toMatchObject({ verb: "ADD", traceparent: PARENT, tracestate: STATE });
    expect(JSON.stringify(add)).not.toContain("not-for-the-log");
    expect(del!.traceparent).toBeUndefined();
    expect(del!.tracestate).toBeUndefined();
    expect(JSON.stringify(del)).not.toContain("not-a-trace-id");

    const calls = fakePluginCalls(fake);
    expect(calls.map((c) => c.env.CNI_COMMAND)).toEqual(["ADD", "DEL"]);
    expect(calls[0]!.env).toMatchObject({ TRACEPARENT: PARENT, TRACESTATE: STATE });
    expect(calls[1]!.env.TRACEPARENT).toBeUndefined();
    expect(calls[1]!.env.TRACESTATE).toBeUndefined();
  });
});
