// Pure functions from the task's event stream to what the page shows: the terminal's lines and the plan's items.

import type { PlanItem, TaskEvent } from "./types";

export type LineKind = "call" | "output" | "error" | "info" | "ok";

export interface Line {
  kind: LineKind;
  text: string;
}

export interface Terminal {
  lines: Line[];
  /** Output of the running command not yet ended by a newline, per call. */
  partial: Record<string, string>;
}

export const MAX_LINES = 5000;
export const emptyTerminal: Terminal = { lines: [], partial: {} };

function shortArgs(args: unknown): string {
  if (!args || typeof args !== "object") return "";
  return Object.entries(args as Record<string, unknown>)
    .map(([name, value]) => {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      return `${name}=${text.length > 120 ? text.slice(0, 117) + "..." : text}`;
    })
    .join(" ");
}

function cap(lines: Line[]): Line[] {
  return lines.length > MAX_LINES ? lines.slice(lines.length - MAX_LINES) : lines;
}

/** The terminal after one more event (a new object; the old one is unchanged). */
export function addToTerminal(terminal: Terminal, event: TaskEvent): Terminal {
  const lines = [...terminal.lines];
  const partial = { ...terminal.partial };
  const str = (key: string) => (typeof event[key] === "string" ? (event[key] as string) : "");
  const callId = str("call_id");
  const flush = () => {
    if (partial[callId]) lines.push({ kind: "output", text: partial[callId] });
    delete partial[callId];
  };
  switch (event.event) {
    case "tool_call":
      lines.push({ kind: "call", text: `$ ${str("tool")} ${shortArgs(event.args)}`.trimEnd() });
      break;
    case "tool_output": {
      const text = (partial[callId] ?? "") + str("chunk");
      const parts = text.split("\n");
      partial[callId] = parts.pop() ?? "";
      for (const part of parts) lines.push({ kind: "output", text: part });
      break;
    }
    case "tool_result":
      flush();
      if (event.ok === false) {
        const first = str("output").split("\n")[0] ?? "";
        lines.push({ kind: "error", text: `error: ${first.slice(0, 300)}` });
      }
      break;
    case "item_started":
      lines.push({ kind: "info", text: `# item ${Number(event.index) + 1}: ${str("description")}` });
      break;
    case "item_completed":
      lines.push({ kind: "ok", text: `# done item ${Number(event.index) + 1} ${str("summary")}`.trimEnd() });
      break;
    case "diff_updated":
      lines.push({ kind: "info", text: `# commit ${str("commit").slice(0, 10)} ${str("message")}`.trimEnd() });
      break;
    case "review":
      lines.push({ kind: "info", text: `# review ${str("verdict")}: ${str("summary") || str("feedback")}` });
      break;
    case "question_asked":
      lines.push({ kind: "info", text: `# question: ${str("question")}` });
      break;
    case "finished":
      lines.push({ kind: "ok", text: `# finished (${str("status")})` });
      break;
    case "failed":
      lines.push({ kind: "error", text: `# failed (${str("status")}): ${str("reason")}` });
      break;
    default:
      return terminal;
  }
  return { lines: cap(lines), partial };
}

/** The plan after an event: proposals replace it, item events move its items along. */
export function applyToPlan(plan: PlanItem[], event: TaskEvent): PlanItem[] {
  if ((event.event === "plan_proposed" || event.event === "plan_approved") && Array.isArray(event.plan)) {
    return (event.plan as PlanItem[]).map((item, index) => ({ ...item, index: item.index ?? index }));
  }
  if (event.event !== "item_started" && event.event !== "item_completed") return plan;
  const index = Number(event.index);
  return plan.map((item) =>
    item.index !== index
      ? item
      : event.event === "item_started"
        ? { ...item, status: "in_progress" }
        : { ...item, status: "done", summary: typeof event.summary === "string" ? event.summary : item.summary },
  );
}

/** Events after which the task's view (status, pending input, diff, usage) is worth reloading. */
export const REFRESH_EVENTS = new Set([
  "status",
  "run_ended",
  "plan_proposed",
  "plan_approved",
  "question_asked",
  "diff_updated",
  "item_completed",
  "finished",
  "failed",
  "review",
]);
