import { describe, expect, it } from "vitest";
import { parseOptions } from "./options.js";

describe("parseOptions", () => {
  it("measures the resident side unless --no-resident", () => {
    expect(parseOptions(["--quick"]).resident).toBe(true);
    expect(parseOptions(["--quick", "--no-resident"]).resident).toBe(false);
  });
});
