import { cleanup, fireEvent, render, screen } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { routeOf } from "../app";
import { DiffView } from "./DiffView";
import { Pending } from "./Pending";
import { Plan } from "./Plan";

afterEach(cleanup);

describe("Plan", () => {
  it("checks the items that are done", () => {
    render(
      <Plan
        plan={[
          { index: 0, description: "Fix add", status: "done" },
          { index: 1, description: "Run the tests", status: "in_progress" },
        ]}
      />,
    );
    expect((screen.getByLabelText("Fix add") as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText("Run the tests") as HTMLInputElement).checked).toBe(false);
    expect(screen.getByText("1 of 2 done")).toBeTruthy();
  });
});

describe("Pending", () => {
  const actions = () => ({ approve: vi.fn(async () => {}), reject: vi.fn(async () => {}), message: vi.fn(async () => {}) });
  const pending = {
    type: "plan_approval" as const,
    plan: [
      { index: 0, description: "Fix add", status: "pending" as const },
      { index: 1, description: "Run the tests", status: "pending" as const },
    ],
  };

  it("approves, rejects, and runs an edited plan", () => {
    const a = actions();
    render(<Pending pending={pending} actions={a} />);
    fireEvent.click(screen.getByText("Approve"));
    expect(a.approve).toHaveBeenCalledWith();
    fireEvent.click(screen.getByText("Reject"));
    expect(a.reject).toHaveBeenCalled();
    fireEvent.click(screen.getByText("Edit"));
    const box = screen.getByLabelText("One step per line") as HTMLTextAreaElement;
    expect(box.value).toBe("Fix add\nRun the tests");
    fireEvent.input(box, { target: { value: "Only fix add\n\n" } });
    fireEvent.click(screen.getByText("Run edited plan"));
    expect(a.approve).toHaveBeenCalledWith(["Only fix add"]);
  });

  it("answers a question", () => {
    const a = actions();
    render(<Pending pending={{ type: "question", question: "Keep mul?" }} actions={a} />);
    expect(screen.getByText("Keep mul?")).toBeTruthy();
    fireEvent.input(screen.getByLabelText("Your answer"), { target: { value: " yes " } });
    fireEvent.click(screen.getByText("Answer"));
    expect(a.message).toHaveBeenCalledWith("yes");
  });
});

describe("DiffView", () => {
  it("shows each file collapsible with its counts and highlighted code", () => {
    const diff = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-    return a - b\n+    return a + b\n";
    const { container } = render(<DiffView diff={diff} />);
    expect(container.querySelector("details summary")?.textContent).toContain("calc.py");
    expect(container.querySelector(".added")?.textContent).toBe("+1");
    expect(container.querySelector(".d-add .tok-keyword")?.textContent).toBe("return");
  });
});

describe("routeOf", () => {
  it("reads the view from the fragment", () => {
    expect(routeOf("#/tasks/abc")).toEqual({ page: "task", id: "abc" });
    expect(routeOf("")).toEqual({ page: "list" });
    expect(routeOf("#/elsewhere")).toEqual({ page: "list" });
  });
});
