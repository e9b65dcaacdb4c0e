/** flannel: renders subnet.env into a bridge + host-local delegate config, saves it, delegates. */
import type { Plugin } from "../../shared/cni/plugin.js";
import { add, check, del, gc, status } from "./verbs.js";

export const plugin: Plugin = { name: "flannel", about: "CNI flannel plugin (cni-ts)", add, del, check, gc, status };
