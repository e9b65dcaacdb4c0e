import { describe, expect, it } from "vitest";
import { parsePrometheusText } from "./prometheus-text.js";

describe("strict Prometheus text parser", () => {
  it("reads families, labels with escapes, special values and timestamps", () => {
    const f = parsePrometheusText(
      [
        "# HELP x_total Help with \\\\ and \\n.",
        "# TYPE x_total counter",
        'x_total{a="q\\"uote",b="back\\\\slash\\nline"} 3 1700000000000',
        "# a comment",
        "# TYPE y gauge",
        "y NaN",
        'y{k="v"} -Inf',
        "",
      ].join("\n"),
    );
    expect(f.get("x_total")).toEqual({
      name: "x_total",
      help: "Help with \\ and \n.",
      type: "counter",
      samples: [{ name: "x_total", labels: { a: 'q"uote', b: "back\\slash\nline" }, value: 3 }],
    });
    expect(f.get("y")!.samples.map((s) => s.value)).toEqual([Number.NaN, Number.NEGATIVE_INFINITY]);
  });

  for (const [why, text] of [
    ["no final newline", "y 1"],
    ["bad metric name", "1y 1\n"],
    ["bad label name", 'y{1a="x"} 1\n'],
    ["reserved label name", 'y{__name__="x"} 1\n'],
    ["unquoted label value", "y{a=x} 1\n"],
    ["bad escape", 'y{a="\\t"} 1\n'],
    ["duplicate label", 'y{a="1",a="2"} 1\n'],
    ["bad value", "y one\n"],
    ["bad timestamp", "y 1 1.5\n"],
    ["unknown type", "# TYPE y gauges\ny 1\n"],
    ["second TYPE", "# TYPE y gauge\n# TYPE y gauge\ny 1\n"],
    ["TYPE after samples", "y 1\n# TYPE y gauge\n"],
    ["samples apart", '# TYPE y gauge\ny 1\n# TYPE z gauge\nz 1\ny{a="b"} 2\n'],
    ["duplicate series", 'y{a="1"} 1\ny{a="1"} 2\n'],
    ["missing value", "y\n"],
  ] as const) {
    it(`rejects ${why}`, () => {
      expect(() => parsePrometheusText(text)).toThrow();
    });
  }
});
