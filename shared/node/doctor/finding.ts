/**
 * What `cni-ts doctor` reports: one finding per fact worth an operator's attention, each with a
 * severity and, when something is wrong, the command that fixes it. "error" means pods cannot be
 * (or are not) networked correctly and makes doctor exit non-zero; "warning" is state that will
 * bite later (leaks, stale rules); "info" is what the node runs.
 */
export type Severity = "info" | "warning" | "error";
export type Area = "plugins" | "config" | "flannel" | "state" | "kernel" | "resident";

export interface Finding {
  area: Area;
  severity: Severity;
  message: string;
  /** A command that fixes it (or the step to take), for warnings and errors. */
  fix?: string;
}

export const info = (area: Area, message: string): Finding => ({ area, severity: "info", message });
export const warning = (area: Area, message: string, fix: string): Finding => ({
  area,
  severity: "warning",
  message,
  fix,
});
export const error = (area: Area, message: string, fix: string): Finding => ({ area, severity: "error", message, fix });

/** Quotes an argument for a fix command shown to a person (never run by us). */
export function shellArg(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
