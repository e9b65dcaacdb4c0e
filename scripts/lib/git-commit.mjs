// The commit a build is stamped with (cni-ts --version).
import { execFileSync } from "node:child_process";

/** The short commit of the checkout at `root`, "-dirty" when tracked files changed; "unknown" outside git. */
export function gitCommit(root) {
  try {
    const git = (...args) =>
      execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return (
      git("rev-parse", "--short=12", "HEAD") + (git("status", "--porcelain", "--untracked-files=no") ? "-dirty" : "")
    );
  } catch {
    return "unknown";
  }
}
