/**
 * Finds ways of starting a shell in source text: spawn/exec options with shell: true,
 * ["sh", "-c"] argument arrays, child_process exec/execSync (which always use /bin/sh),
 * and Bun's shell ($`…`).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const SHELL_PATTERNS: [RegExp, string][] = [
  [/\bshell\s*:\s*(true|["'`])/, "spawn option shell"],
  [/["'`](?:\/(?:usr\/)?bin\/)?(?:ba|da|z)?sh["'`]\s*,\s*["'`]-\w*c\w*["'`]/, "sh -c argument array"],
  // RegExp#exec is fine: a bare exec( or any execSync( is child_process's.
  [/\bexecSync\s*\(|(?<![.\w])exec\s*\(|child_process["')]*\.exec\b/, "child_process exec/execSync (runs /bin/sh)"],
  [/import\s*\{[^}]*\bexec\b[^}]*\}\s*from\s*["'](?:node:)?child_process["']/, "imports child_process exec"],
  [/import\s*\{[^}]*\$[^}]*\}\s*from\s*["']bun["']|\bBun\.\$/, "Bun shell"],
];

export interface ShellUse {
  file: string;
  line: number;
  what: string;
  text: string;
}

export function scanTextForShell(file: string, text: string): ShellUse[] {
  const out: ShellUse[] = [];
  text.split("\n").forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "");
    for (const [re, what] of SHELL_PATTERNS)
      if (re.test(code)) out.push({ file, line: i + 1, what, text: line.trim() });
  });
  return out;
}

/** Every non-test .ts file under the given roots (relative to `base`). */
export function sourceFiles(base: string, roots: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (name !== "node_modules" && name !== "testdata") walk(p);
      } else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) out.push(relative(base, p));
    }
  };
  for (const r of roots) walk(join(base, r));
  return out.sort();
}

export function scanForShell(base: string, roots: readonly string[]): ShellUse[] {
  return sourceFiles(base, roots).flatMap((f) => scanTextForShell(f, readFileSync(join(base, f), "utf8")));
}
