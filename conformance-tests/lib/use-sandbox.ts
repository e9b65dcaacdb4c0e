import { afterAll, afterEach } from "vitest";
import { type NodeOptions, type SandboxNode, createNode } from "./sandbox.js";

/**
 * Vitest glue: `const sandbox = useSandbox();` at describe/file level, then `await sandbox.node()`
 * in a test. Every node created during a test is torn down after it (also when it failed), and the
 * teardown's leak check fails the test if anything was left behind.
 */
export interface SandboxScope {
  node(opts?: NodeOptions): Promise<SandboxNode>;
  /** Tears down every node of this scope now (afterEach does it anyway). */
  teardownAll(): Promise<void>;
}

export function useSandbox(): SandboxScope {
  const nodes: SandboxNode[] = [];
  const teardownAll = async (): Promise<void> => {
    const errors: Error[] = [];
    for (const n of nodes.splice(0)) await n.teardown().catch((e: Error) => errors.push(e));
    if (errors.length > 0) throw new Error(errors.map((e) => e.message).join("\n"));
  };
  afterEach(teardownAll);
  afterAll(teardownAll);
  return {
    async node(opts) {
      const n = await createNode(opts);
      nodes.push(n);
      return n;
    },
    teardownAll,
  };
}
