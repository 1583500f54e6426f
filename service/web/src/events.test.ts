import { describe, expect, it } from "vitest";
import { addToTerminal, applyToPlan, emptyTerminal, MAX_LINES } from "./events";
import type { PlanItem, TaskEvent } from "./types";

let id = 0;
const ev = (event: string, fields: Record<string, unknown> = {}): TaskEvent => ({ type: "event", id: ++id, event, ...fields });

describe("terminal", () => {
  it("shows command output as lines, joining chunks split mid-line", () => {
    let t = addToTerminal(emptyTerminal, ev("tool_call", { tool: "shell", args: { command: "pytest -q" }, call_id: "c1" }));
    t = addToTerminal(t, ev("tool_output", { call_id: "c1", chunk: "..F\nFAIL: test_a" }));
    t = addToTerminal(t, ev("tool_output", { call_id: "c1", chunk: "dd\n1 failed\n" }));
    t = addToTerminal(t, ev("tool_result", { call_id: "c1", ok: true, output: "" }));
    expect(t.lines).toEqual([
      { kind: "call", text: "$ shell command=pytest -q" },
      { kind: "output", text: "..F" },
      { kind: "output", text: "FAIL: test_add" },
      { kind: "output", text: "1 failed" },
    ]);
    expect(t.partial).toEqual({});
  });

  it("keeps the unfinished last line visible until the command ends", () => {
    let t = addToTerminal(emptyTerminal, ev("tool_output", { call_id: "c1", chunk: "progress 50%" }));
    expect(t.lines).toEqual([]);
    expect(t.partial.c1).toBe("progress 50%");
    t = addToTerminal(t, ev("tool_result", { call_id: "c1", ok: false, output: "exit 1\nmore" }));
    expect(t.lines).toEqual([
      { kind: "output", text: "progress 50%" },
      { kind: "error", text: "error: exit 1" },
    ]);
  });

  it("keeps text with square brackets literally", () => {
    const t = addToTerminal(emptyTerminal, ev("tool_output", { call_id: "c", chunk: "d[item] = 1 [accept]\n" }));
    expect(t.lines[0].text).toBe("d[item] = 1 [accept]");
  });

  it("ignores events it does not show and caps its length", () => {
    expect(addToTerminal(emptyTerminal, ev("run_started"))).toBe(emptyTerminal);
    const chunk = "x\n".repeat(MAX_LINES + 10);
    const t = addToTerminal(emptyTerminal, ev("tool_output", { call_id: "c", chunk }));
    expect(t.lines.length).toBe(MAX_LINES);
  });
});

describe("plan", () => {
  const plan: PlanItem[] = [
    { index: 0, description: "Fix add", status: "pending" },
    { index: 1, description: "Run the tests", status: "pending" },
  ];

  it("fills as items start and complete", () => {
    let p = applyToPlan(plan, ev("item_started", { index: 0 }));
    expect(p.map((i) => i.status)).toEqual(["in_progress", "pending"]);
    p = applyToPlan(p, ev("item_completed", { index: 0, summary: "fixed" }));
    expect(p[0]).toMatchObject({ status: "done", summary: "fixed" });
    expect(plan[0].status).toBe("pending");
  });

  it("is replaced by a proposed plan", () => {
    const proposed = [{ index: 0, description: "Only step", status: "pending" }];
    expect(applyToPlan(plan, ev("plan_proposed", { plan: proposed }))).toEqual(proposed);
  });
});
