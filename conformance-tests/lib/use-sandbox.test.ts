import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { netnsExists } from "./netns.js";
import type { SandboxNode } from "./sandbox.js";
import { useSandbox } from "./use-sandbox.js";

describe("useSandbox", () => {
  const sandbox = useSandbox();
  let shared: SandboxNode;
  let perTest: SandboxNode | undefined;

  beforeAll(async () => {
    shared = await sandbox.node({ impl: "reference" });
  });

  it("keeps a beforeAll node across tests, creates per-test nodes", async () => {
    perTest = await sandbox.node({ impl: "reference" });
    expect(netnsExists(shared.name)).toBe(true);
  });

  it("tore the previous test's node down, not the suite's", () => {
    expect(perTest?.isTornDown).toBe(true);
    expect(netnsExists(perTest!.name)).toBe(false);
    expect(shared.isTornDown).toBe(false);
    expect(netnsExists(shared.name)).toBe(true);
  });

  afterAll(() => {
    // registered after useSandbox's afterAll, so it runs first (vitest runs afterAll hooks in reverse)
    expect(shared.isTornDown).toBe(false);
  });
});
