/**
 * The one error type of the system layer (shared/sys, shared/net): plain, with no CNI code, so the
 * layer depends on nothing in shared/cni. The protocol core maps it (toCniError in
 * shared/cni/errors.ts): kind "environment" to code 4 (invalid environment), anything else to 999;
 * the hint becomes the error's details.
 */
export class SystemError extends Error {
  constructor(
    message: string,
    readonly hint = "",
    readonly kind: "internal" | "environment" = "internal",
  ) {
    super(message);
    this.name = "SystemError";
  }
}
