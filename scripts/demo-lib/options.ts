/** Command line of scripts/demo, validated. */
import { parseArgs } from "node:util";
import * as z from "zod/mini";

export const USAGE = `usage: scripts/demo [--flavour kube-flannel|k3s] [--backend vxlan|host-gw] [--cluster-cidr CIDR] [--pods N] [--nodes N] [--keep]
       scripts/demo --teardown ID

Builds a two-node flannel cluster inside network namespaces on this machine, attaches pods with
the suite's plugins through the libcni client, and shows which pods reach which.

  --flavour kube-flannel|k3s  the conflist the nodes run: kube-flannel's (flannel + portmap, the
                            default) or k3s's (flannel with forceAddress + portmap + bandwidth; the
                            first pod of each node carries the bandwidth annotations, 10M each way)
  --backend vxlan|host-gw   flannel backend the nodes use (default vxlan)
  --cluster-cidr CIDR       the cluster's pod network (default 10.244.0.0/16; with k3s 10.42.0.0/16)
  --pods N                  pods per node (default 2, at most 20)
  --nodes N                 nodes (default 2, at most 8; more than 2 share an underlay switch)
  --keep                    leave the cluster running and print how to enter a pod and tear it down
  --teardown ID             remove a cluster left by --keep
  --plugins DIR             take the plugin executables from DIR (default: this checkout's dist/bin)
  --reference               for comparison: Debian's Go plugins (/usr/lib/cni) run the config our
                            flannel would render (bridge + host-local; Debian ships no flannel)
`;

const Options = z.object({
  flavour: z.enum(["kube-flannel", "k3s"], { error: "must be kube-flannel or k3s" }),
  backend: z.enum(["vxlan", "host-gw"], { error: "must be vxlan or host-gw" }),
  clusterCidr: z.string().check(z.regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, "an IPv4 CIDR such as 10.244.0.0/16")),
  pods: z
    .number({ error: "must be a number" })
    .check(
      z.int({ error: "must be a whole number" }),
      z.minimum(1, { error: "must be at least 1" }),
      z.maximum(20, { error: "must be at most 20" }),
    ),
  nodes: z
    .number({ error: "must be a number" })
    .check(
      z.int({ error: "must be a whole number" }),
      z.minimum(2, { error: "must be at least 2" }),
      z.maximum(8, { error: "must be at most 8" }),
    ),
  keep: z.boolean(),
  teardown: z.optional(z.string().check(z.regex(/^[a-z0-9]{4,16}$/, "a cluster id as printed by --keep"))),
  plugins: z.optional(z.string()),
  reference: z.boolean(),
  help: z.boolean(),
});
export type DemoOptions = z.infer<typeof Options>;

export function parseOptions(argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      flavour: { type: "string", default: "kube-flannel" },
      backend: { type: "string", default: "vxlan" },
      "cluster-cidr": { type: "string" },
      pods: { type: "string", default: "2" },
      nodes: { type: "string", default: "2" },
      keep: { type: "boolean", default: false },
      teardown: { type: "string" },
      plugins: { type: "string" },
      reference: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const r = Options.safeParse({
    flavour: values.flavour,
    backend: values.backend,
    clusterCidr: values["cluster-cidr"] ?? (values.flavour === "k3s" ? "10.42.0.0/16" : "10.244.0.0/16"),
    pods: Number(values.pods),
    nodes: Number(values.nodes),
    keep: values.keep,
    teardown: values.teardown,
    plugins: values.plugins,
    reference: values.reference,
    help: values.help,
  });
  if (r.success && r.data.reference && r.data.flavour === "k3s") {
    throw new Error(
      "--reference: Debian has no flannel, so the reference runs the rendered delegate; it has no k3s flavour",
    );
  }
  if (!r.success) {
    const msg = r.error.issues.map(
      (i) => `--${String(i.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`,
    );
    throw new Error(msg.join("\n"));
  }
  return r.data;
}
