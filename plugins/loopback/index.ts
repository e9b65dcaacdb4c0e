/** loopback: `lo` up in the pod namespace. */
import type { Plugin } from "../../shared/cni/plugin.js";
import { add, check, del, gc, status } from "./verbs.js";

export const plugin: Plugin = { name: "loopback", about: "CNI loopback plugin (cni-ts)", add, del, check, gc, status };
