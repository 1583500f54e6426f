import { describe, expect, it } from "vitest";
import { highlight, languageFor } from "./highlight";

describe("highlight", () => {
  it("marks Python keywords, strings, numbers and comments", () => {
    const tokens = highlight('    return a + 1  # "sum"', languageFor("calc.py"));
    expect(tokens.filter((t) => t.kind !== "plain")).toEqual([
      { kind: "keyword", text: "return" },
      { kind: "number", text: "1" },
      { kind: "comment", text: '# "sum"' },
    ]);
    expect(tokens.map((t) => t.text).join("")).toBe('    return a + 1  # "sum"');
  });

  it("does not take a # inside a string for a comment", () => {
    const tokens = highlight('x = "a#b"', languageFor("a.py"));
    expect(tokens.find((t) => t.kind === "string")?.text).toBe('"a#b"');
    expect(tokens.some((t) => t.kind === "comment")).toBe(false);
  });

  it("leaves unknown languages plain", () => {
    expect(highlight("return 1", languageFor("notes.txt"))).toEqual([{ kind: "plain", text: "return 1" }]);
  });
});
