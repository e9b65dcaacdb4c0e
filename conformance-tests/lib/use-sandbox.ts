/**
 * Vitest glue: `const sandbox = useSandbox();` at describe/file level, then `await sandbox.node()`
 * in a test. A node created inside a test is torn down after that test (also when it failed); one
 * created in beforeAll lives until afterAll. The teardown's leak check fails the test (or the
 * suite) if anything was left behind.
 */
import { afterAll, afterEach, expect } from "vitest";
import { type NodeOptions, type SandboxNode, createNode } from "./sandbox.js";

export interface SandboxScope {
  node(opts?: NodeOptions): Promise<SandboxNode>;
  /** Tears down every node of this scope created by the current test now (afterEach does anyway). */
  teardownAll(): Promise<void>;
}

export function useSandbox(): SandboxScope {
  const perTest: SandboxNode[] = [];
  const perSuite: SandboxNode[] = [];
  const teardown = async (nodes: SandboxNode[]): Promise<void> => {
    const errors: Error[] = [];
    for (const n of nodes.splice(0)) await n.teardown().catch((e: Error) => errors.push(e));
    if (errors.length > 0) throw new Error(errors.map((e) => e.message).join("\n"));
  };
  afterEach(() => teardown(perTest));
  afterAll(async () => {
    await teardown(perTest);
    await teardown(perSuite);
  });
  return {
    async node(opts) {
      const n = await createNode(opts);
      (expect.getState().currentTestName === undefined ? perSuite : perTest).push(n);
      return n;
    },
    teardownAll: () => teardown(perTest),
  };
}
