import { describe, expect, it } from "vitest";
import { cost, formatUsd, usageRows } from "./usage";

describe("usage", () => {
  it("lists roles then the total, and prices them", () => {
    const rows = usageRows({
      total: { input_tokens: 3_000_000, output_tokens: 1_000_000, total_tokens: 4_000_000, calls: 3 },
      programmer: { input_tokens: 2_000_000, output_tokens: 500_000, total_tokens: 2_500_000, calls: 2 },
      planner: { input_tokens: 1_000_000, output_tokens: 500_000, total_tokens: 1_500_000, calls: 1 },
    });
    expect(rows.map((r) => r.role)).toEqual(["planner", "programmer", "total"]);
    expect(cost(rows[2], { input: 2, output: 8 })).toBe(14);
    expect(formatUsd(14)).toBe("$14.00");
    expect(formatUsd(0.0012)).toBe("$0.0012");
  });
});
