import { describe, expect, it, vi } from "vitest";
import { Api, ApiError, followEvents } from "./api";
import { loadSession, normalizeServer, saveSession } from "./session";

const session = { server: "https://api.example.com", key: "osk_secret" };

function fakeFetch(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status }));
}

describe("Api", () => {
  it("sends the key in a header, never in the URL", async () => {
    const fetcher = fakeFetch(200, { tasks: [] });
    await new Api(session, fetcher).listTasks();
    const [url, init] = fetcher.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("https://api.example.com/tasks?limit=50");
    expect((init.headers as Record<string, string>)["x-api-key"]).toBe("osk_secret");
    expect(new Api(session).eventsUrl("t 1", 7)).toBe("wss://api.example.com/tasks/t%201/events?after=7");
  });

  it("raises the server's detail", async () => {
    const api = new Api(session, fakeFetch(409, { detail: "cannot approve: not awaiting approval" }));
    await expect(api.approve("t1")).rejects.toEqual(new ApiError(409, "cannot approve: not awaiting approval"));
  });

  it("sends only the fields a new task sets", async () => {
    const fetcher = fakeFetch(201, { id: "t1", status: "queued" });
    await new Api(session, fetcher).createTask({ task: "fix", repo: "", auto_approve: true, sandbox: "local" });
    const init = (fetcher.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect(JSON.parse(String(init.body))).toEqual({ task: "fix", auto_approve: true, sandbox: "local" });
  });
});

describe("followEvents", () => {
  it("opens the socket with a ticket as subprotocol and resumes after the last event", async () => {
    const fetcher = fakeFetch(200, { ticket: "T", expires_in: 30, protocols: ["open-swe", "ticket.T"] });
    const sockets: { url: string; protocols: string[]; socket: Record<string, unknown> }[] = [];
    const messages: unknown[] = [];
    const stream = followEvents(
      new Api(session, fetcher),
      "t1",
      (m) => messages.push(m),
      () => {},
      (url, protocols) => {
        const socket = { close: vi.fn() } as Record<string, unknown>;
        sockets.push({ url, protocols, socket });
        return socket as unknown as WebSocket;
      },
    );
    await vi.waitFor(() => expect(sockets.length).toBe(1));
    expect(sockets[0].url).toBe("wss://api.example.com/tasks/t1/events?after=0");
    expect(sockets[0].protocols).toEqual(["open-swe", "ticket.T"]);
    expect(sockets[0].url).not.toContain("osk_secret");
    (sockets[0].socket.onmessage as (e: { data: string }) => void)({
      data: JSON.stringify({ type: "event", id: 5, event: "task_started" }),
    });
    expect(messages).toHaveLength(1);
    stream.close();
    expect(sockets[0].socket.close).toHaveBeenCalled();
  });
});

describe("session", () => {
  it("round-trips through storage and normalizes the server", () => {
    saveSession(session, sessionStorage);
    expect(loadSession(sessionStorage)).toEqual(session);
    expect(normalizeServer("", "http://127.0.0.1:2024")).toBe("http://127.0.0.1:2024");
    expect(normalizeServer("https://x.example/path/", "http://a")).toBe("https://x.example");
    expect(() => normalizeServer("ftp://x", "http://a")).toThrow("http(s)");
  });
});
