import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Plugin } from "../../shared/cni/plugin.js";

const notYet = (): never => {
  throw new CniError(ErrorCode.Internal, "host-local: not implemented yet");
};

export const plugin: Plugin = { name: "host-local", about: "CNI host-local plugin (cni-ts)", add: notYet, del: notYet };
