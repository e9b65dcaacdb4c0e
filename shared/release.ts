/**
 * This build's release, and the marker by which `cni-ts doctor` recognises our executables in a
 * plugin directory: the text below, which the compiled executable carries verbatim (a literal, so
 * no bundler can split it). release.test.ts keeps it equal to package.json's version.
 */
export const RELEASE_MARKER = "cni-ts-release=0.1.0;";
export const RELEASE = RELEASE_MARKER.slice(RELEASE_MARKER.indexOf("=") + 1, -1);

/** The release named by a marker found in a file's bytes (latin1 text), if any. */
export function releaseIn(text: string): string | undefined {
  return /cni-ts-release=(\d+\.\d+\.\d+[0-9A-Za-z.+-]*);/.exec(text)?.[1];
}
