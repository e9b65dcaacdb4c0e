import { CniError, ErrorCode } from "./errors.js";

export const VERBS = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"] as const;
export type Verb = (typeof VERBS)[number];

export interface CniEnv {
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  args: string;
  path: string[];
  netnsOverride: boolean;
}

const VARS = ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"] as const;
type Var = (typeof VARS)[number];

/** Which variables each verb needs (skel's table; CNI_NETNS is optional on DEL). */
const REQUIRED: Record<Verb, readonly Var[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"],
  GC: ["CNI_PATH"],
  STATUS: ["CNI_PATH"],
  VERSION: [],
};

export const CONTAINER_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function isVerb(s: string): s is Verb {
  return (VERBS as readonly string[]).includes(s);
}

/** Reads the CNI_* variables and validates those the verb needs, with skel's codes and messages. */
export function readEnv(env: NodeJS.ProcessEnv): CniEnv {
  const get = (k: Var) => env[k] ?? "";
  const command = get("CNI_COMMAND");
  const required = isVerb(command) ? REQUIRED[command] : [];
  const missing = required.filter((k) => get(k) === "");
  if (missing.length > 0) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `required env variables [${missing.join(",")}] missing`,
      `set ${missing.join(", ")} as the CNI spec requires for ${command}`,
    );
  }
  const cniEnv: CniEnv = {
    command,
    containerId: get("CNI_CONTAINERID"),
    netns: get("CNI_NETNS"),
    ifname: get("CNI_IFNAME"),
    args: get("CNI_ARGS"),
    path: get("CNI_PATH")
      .split(":")
      .filter((p) => p !== ""),
    netnsOverride: /^(1|true)$/i.test(env.CNI_NETNS_OVERRIDE ?? ""),
  };
  if (required.includes("CNI_CONTAINERID")) validateContainerId(cniEnv.containerId);
  if (required.includes("CNI_IFNAME")) validateInterfaceName(cniEnv.ifname);
  if (command === "ADD" || command === "CHECK" || command === "DEL") {
    validateNetnsPath(cniEnv.netns, required.includes("CNI_NETNS"));
  }
  return cniEnv;
}

export function validateContainerId(id: string): void {
  if (id === "") throw new CniError(ErrorCode.UnknownContainer, "missing containerID");
  if (!CONTAINER_ID_PATTERN.test(id) || id.length > 1024) {
    throw new CniError(ErrorCode.InvalidEnvironment, "invalid characters in containerID", printable(id));
  }
}

/** Linux's rules for a link name (IFNAMSIZ 16 with the NUL), as skel's ValidateInterfaceName. */
export function validateInterfaceName(name: string): void {
  if (name === "") throw new CniError(ErrorCode.InvalidEnvironment, "interface name is empty");
  if (Buffer.byteLength(name) > 15) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      "interface name is too long",
      "interface name should be less than 16 characters",
    );
  }
  if (name === "." || name === "..") {
    throw new CniError(ErrorCode.InvalidEnvironment, "interface name is . or ..", printable(name));
  }
  if (/[/:\s\u0000]/u.test(name)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      "interface name contains / or : or whitespace characters",
      printable(name),
    );
  }
}

/** CNI_NETNS must be an absolute path without NUL or newline; its kind is checked where it is opened. */
function validateNetnsPath(path: string, required: boolean): void {
  if (path === "" && !required) return;
  if (!path.startsWith("/") || /[\u0000\n\r]/.test(path) || path.length > 4096) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      "invalid CNI_NETNS: expected an absolute path such as /var/run/netns/NAME or /proc/PID/ns/net",
      printable(path),
    );
  }
}

/** A value safe to echo back in one line of an error message. */
export function printable(s: string, max = 256): string {
  const flat = JSON.stringify(s).slice(1, -1);
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
