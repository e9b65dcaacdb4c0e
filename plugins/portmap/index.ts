/** portmap: host ports forwarded to the pod (iptables or nftables), chained after the plugin that gave it addresses. */
import type { Plugin } from "../../shared/cni/plugin.js";
import { add, check, del, gc, status } from "./verbs.js";

export const plugin: Plugin = { name: "portmap", about: "CNI portmap plugin (cni-ts)", add, del, check, gc, status };
