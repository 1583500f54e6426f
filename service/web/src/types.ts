// The task API's shapes (agent/http/models.py, agent/contract.py), as the page uses them.

export type PlanItemStatus = "pending" | "in_progress" | "done" | "skipped";

export interface PlanItem {
  index: number;
  description: string;
  status: PlanItemStatus;
  summary?: string;
}

export interface Pending {
  type: "plan_approval" | "question";
  plan?: PlanItem[] | null;
  question?: string | null;
}

export interface RoleUsage {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
  calls?: number;
}

export interface TaskView {
  id: string;
  status: string;
  task: string;
  repo?: string | null;
  sandbox?: string | null;
  auto_approve: boolean;
  created_at?: string | null;
  updated_at?: string | null;
  plan: PlanItem[];
  pending?: Pending | null;
  usage: Record<string, RoleUsage>;
  diff?: string | null;
  branch?: string | null;
  summary?: string | null;
  reason?: string | null;
  last_event_id: number;
}

export interface NewTask {
  task: string;
  repo?: string;
  sandbox?: "local" | "daytona";
  model?: string;
  auto_approve: boolean;
}

/** A message on the events websocket. */
export type ServerMessage =
  | ({ type: "event"; id: number; event: string; source?: string } & Record<string, unknown>)
  | { type: "ack"; action: string; result: Record<string, unknown> }
  | { type: "error"; status: number; detail: string; action?: string };

export type TaskEvent = Extract<ServerMessage, { type: "event" }>;

export const TERMINAL = new Set([
  "completed",
  "failed",
  "limit_reached",
  "rejected",
  "cancelled",
  "answered",
  "needs_review",
  "lost",
]);
