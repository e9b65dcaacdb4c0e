/** Unit-test support: an ADD invocation of `conf` (no process, no kernel). */
import { buildInvocation } from "../../../shared/cni/invocation.js";
import type { Invocation } from "../../../shared/cni/plugin.js";

export function invocationOf(conf: Record<string, unknown>, args = ""): Invocation {
  const env = {
    command: "ADD",
    containerId: "ctr1",
    netns: "/var/run/netns/pod1",
    ifname: "eth0",
    args,
    path: ["/opt/cni/bin"],
    netnsOverride: false,
  };
  const stdin = Buffer.from(JSON.stringify({ cniVersion: "1.0.0", name: "net1", type: "bridge", ...conf }));
  return buildInvocation("ADD", env, stdin, {});
}
