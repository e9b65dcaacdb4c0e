/**
 * Which build this is: the release (package.json's semver), the git commit and Bun's compile
 * target. scripts/build.mjs stamps them in with `--define`; run from source (unit tests) they read
 * as a development build.
 */
export interface BuildInfo {
  release: string;
  commit: string;
  target: string;
}

export const BUILD: BuildInfo = {
  release: process.env.CNI_TS_RELEASE || "0.0.0-dev",
  commit: process.env.CNI_TS_COMMIT || "unknown",
  target: process.env.CNI_TS_TARGET || "source",
};

/**
 * One build, exactly: the commit and the moment it was built. The resident service runs only the
 * calls of the build it is (a node mid-upgrade has two).
 */
export const BUILD_ID: string = process.env.CNI_TS_BUILD_ID || "source";

/** "v0.1.0 (commit 1a2b3c4, bun-linux-x64-baseline)": appended to every self-description. */
export function buildDescription(build: BuildInfo = BUILD): string {
  return `v${build.release} (commit ${build.commit}, ${build.target})`;
}

/**
 * Present in every cni-ts executable (it is in the bundled code): how the installer tells our files
 * from anyone else's without running them.
 */
export const EXECUTABLE_MARKER = "cni-ts multi-call executable 7f3c9d2e";
