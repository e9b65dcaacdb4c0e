/**
 * The node commands: what `cni-ts COMMAND [flags]` runs when the executable is invoked under its
 * own name rather than a plugin's (install, gc, doctor, …). Each entry loads its module lazily;
 * a command's `run` gets the arguments after its name and returns the exit status.
 */
export interface NodeCommand {
  summary: string;
  run(args: string[]): Promise<number>;
}

type CommandLoader = () => Promise<NodeCommand>;

export const NODE_COMMANDS: Record<string, CommandLoader> = {
  install: async () => (await import("./install.js")).command,
  "firewall-reload": async () => (await import("./firewall-reload.js")).command,
  metrics: async () => (await import("./metrics.js")).command,
  gc: async () => (await import("./gc.js")).command,
  doctor: async () => (await import("./doctor.js")).command,
  serve: async () => (await import("./serve.js")).command,
};

export function usage(): string {
  const names = Object.keys(NODE_COMMANDS);
  return names.length === 0 ? "" : `commands: ${names.join(", ")} (cni-ts COMMAND --help)\n`;
}
