import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Plugin } from "../../shared/cni/plugin.js";

const notYet = (): never => {
  throw new CniError(ErrorCode.Internal, "bridge: not implemented yet");
};

export const plugin: Plugin = { name: "bridge", about: "CNI bridge plugin (cni-ts)", add: notYet, del: notYet };
