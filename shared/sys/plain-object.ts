/** The one test for "a JSON object" (not null, not an array) used wherever decoded JSON is read. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
