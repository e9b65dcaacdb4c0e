/**
 * The leak audit the fault and load tests rely on must see every kind of leftover: here each
 * one is planted by hand in a sandbox node next to a real pod, and must be reported.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCnitool } from "./lib/cnitool-build.js";
import { setupChain } from "../scripts/soak-lib/chains.js";
import { auditNode } from "../scripts/soak-lib/leaks.js";
import { FaultLab } from "../scripts/soak-lib/trials.js";
import { requireOursBuilt } from "./lib/paths.js";
import { useSandbox } from "./lib/use-sandbox.js";

const sandbox = useSandbox();

beforeAll(async () => {
  requireOursBuilt();
  await ensureCnitool();
}, 300_000);

describe("leak audit", () => {
  it("is clean for a node with one real pod, and reports each planted leftover", async () => {
    const node = await sandbox.node();
    const lab = new FaultLab(node, setupChain(node, "flannel"));
    await lab.addPods(1);
    expect(await lab.audit()).toEqual({ leaks: [], duplicates: [] });

    const gone = `${lab.idPrefix}gone`;
    const store = join(lab.chain.ipamDataDir, lab.chain.network);
    const strayIp = lab.chain.subnet.replace(/0\/24$/, "200");
    writeFileSync(join(store, strayIp), `${gone}\r\neth0`, { mode: 0o600 });
    writeFileSync(join(store, ".cni-ts-tmp.1234"), "x", { mode: 0o600 });
    mkdirSync(lab.chain.flannelDataDir!, { recursive: true });
    writeFileSync(join(lab.chain.flannelDataDir!, gone), "{}", { mode: 0o600 });
    writeFileSync(join(lab.chain.flannelDataDir!, `${lab.live[0]!.containerId}@eth1`), "", { mode: 0o600 });
    writeFileSync(join(node.dataDir, "open-to-all"), "x");
    chmodSync(join(node.dataDir, "open-to-all"), 0o666);
    await node.exec(["ip", "link", "add", "vethstray", "type", "veth", "peer", "name", "vethstray2"]);
    await node.exec([
      "iptables",
      "-t",
      "nat",
      "-A",
      "POSTROUTING",
      "-s",
      `${strayIp}/32`,
      "-m",
      "comment",
      "--comment",
      `id: "${gone}"`,
      "-j",
      "ACCEPT",
    ]);

    const { leaks } = await lab.audit();
    const expectations = [
      new RegExp(`reservation ${lab.chain.network}/${strayIp.replaceAll(".", "\\.")} held by .*${gone}`),
      /\.cni-ts-tmp\.1234 looks like a temp file/,
      new RegExp(`saved flannel config ${gone} without a pod`),
      /@eth1 is empty/,
      /open-to-all is world-writable/,
      /3 veths in the node for 1 live attachments/,
      new RegExp(`firewall rules still name container ${gone}`),
      new RegExp(`firewall rule for ${strayIp.replaceAll(".", "\\.")}`),
    ];
    for (const re of expectations)
      expect(
        leaks.some((l) => re.test(l)),
        `${re} in\n${leaks.join("\n")}`,
      ).toBe(true);
  });

  it("is clean for a shaped k3s pod, and reports a stray ifb and a qdisc on the bridge", async () => {
    const node = await sandbox.node();
    const lab = new FaultLab(node, setupChain(node, "k3s"));
    await lab.addPods(1);
    expect(await lab.audit()).toEqual({ leaks: [], duplicates: [] });
    await node.exec(["ip", "link", "add", "bwp0123456789ab", "type", "ifb"]);
    await node.exec([
      "tc",
      "qdisc",
      "add",
      "dev",
      lab.chain.bridge,
      "root",
      "tbf",
      "rate",
      "1mbit",
      "burst",
      "10000",
      "limit",
      "20000",
    ]);
    const { leaks } = await lab.audit();
    expect(leaks).toContain("ifb bwp0123456789ab without a live shaped pod");
    expect(leaks).toContain(`tbf qdisc on ${lab.chain.bridge}, which is no pod's veth or ifb`);
    for (const pod of [...node.pods]) await lab.del(pod);
  });

  it("reports an address handed out twice", async () => {
    const node = await sandbox.node();
    const chain = setupChain(node, "bridge");
    const ip = chain.subnet.replace(/0\/24$/, "7");
    const live = [
      { containerId: "cts-x-a", ifname: "eth0", ips: [ip], network: chain.network },
      { containerId: "cts-x-b", ifname: "eth0", ips: [ip], network: chain.network },
    ];
    const { duplicates } = await auditNode(node, [chain], live, { idPrefix: "cts-x-", checkVeths: false });
    expect(duplicates).toEqual([`${ip} handed to both cts-x-a/eth0 and cts-x-b/eth0`]);
  });
});
