import type { Plugin } from "../../shared/cni/plugin.js";
import { makeFlannelPlugin } from "./flannel-verbs.js";

/** flannel: renders subnet.env into a bridge + host-local delegate config, saves it, delegates. */
export const plugin: Plugin = makeFlannelPlugin();
