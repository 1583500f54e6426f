// A typed client of the task API. The key goes in the x-api-key header; the events websocket authenticates with
// a single-use ticket offered as a subprotocol (agent/http/tickets.py), so the key never appears in a URL.

import type { Session } from "./session";
import type { NewTask, ServerMessage, TaskView } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function detailOf(body: unknown, status: number): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail))
      return detail.map((d) => (d && typeof d === "object" && "msg" in d ? String(d.msg) : String(d))).join("; ");
  }
  return `HTTP ${status}`;
}

export interface TicketIssued {
  ticket: string;
  expires_in: number;
  protocols: string[];
}

export class Api {
  constructor(
    readonly session: Session,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { "x-api-key": this.session.key };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await this.fetcher(this.session.server + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) throw new ApiError(response.status, detailOf(parsed, response.status));
    return parsed as T;
  }

  listTasks(): Promise<{ tasks: TaskView[] }> {
    return this.request("GET", "/tasks?limit=50");
  }

  getTask(id: string): Promise<TaskView> {
    return this.request("GET", `/tasks/${encodeURIComponent(id)}`);
  }

  createTask(task: NewTask): Promise<{ id: string; status: string }> {
    const body: Record<string, unknown> = { task: task.task, auto_approve: task.auto_approve };
    if (task.repo) body.repo = task.repo;
    if (task.sandbox) body.sandbox = task.sandbox;
    if (task.model) body.model = task.model;
    return this.request("POST", "/tasks", body);
  }

  approve(id: string, plan?: string[]): Promise<unknown> {
    return this.request("POST", `/tasks/${encodeURIComponent(id)}/approve`, plan ? { plan } : undefined);
  }

  reject(id: string): Promise<unknown> {
    return this.request("POST", `/tasks/${encodeURIComponent(id)}/reject`);
  }

  message(id: string, message: string): Promise<unknown> {
    return this.request("POST", `/tasks/${encodeURIComponent(id)}/messages`, { message });
  }

  cancel(id: string): Promise<unknown> {
    return this.request("DELETE", `/tasks/${encodeURIComponent(id)}`);
  }

  ticket(id: string): Promise<TicketIssued> {
    return this.request("POST", `/tasks/${encodeURIComponent(id)}/events/ticket`);
  }

  /** The websocket URL of a task's events after an event id (no credentials in it). */
  eventsUrl(id: string, after: number): string {
    const url = new URL(`/tasks/${encodeURIComponent(id)}/events`, this.session.server);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("after", String(after));
    return url.toString();
  }
}

export interface EventStream {
  close(): void;
}

/** Follows a task's events, reconnecting (with a fresh ticket, from the last id seen) until closed. */
export function followEvents(
  api: Api,
  id: string,
  onMessage: (message: ServerMessage) => void,
  onState: (state: "open" | "closed" | "error", detail?: string) => void,
  makeSocket: (url: string, protocols: string[]) => WebSocket = (url, protocols) => new WebSocket(url, protocols),
): EventStream {
  let last = 0;
  let socket: WebSocket | null = null;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  const connect = async () => {
    let issued: TicketIssued;
    try {
      issued = await api.ticket(id);
    } catch (error) {
      onState("error", error instanceof Error ? error.message : String(error));
      if (!(error instanceof ApiError && error.status < 500)) schedule();
      return;
    }
    if (closed) return;
    socket = makeSocket(api.eventsUrl(id, last), issued.protocols);
    socket.onopen = () => onState("open");
    socket.onmessage = (message) => {
      const parsed = JSON.parse(String(message.data)) as ServerMessage;
      if (parsed.type === "event") last = Math.max(last, parsed.id);
      onMessage(parsed);
    };
    socket.onclose = (event) => {
      onState("closed", event.reason || undefined);
      if (event.code !== 4404) schedule();
    };
  };
  const schedule = () => {
    if (!closed) retry = setTimeout(() => void connect(), 1500);
  };
  void connect();
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      socket?.close();
    },
  };
}
