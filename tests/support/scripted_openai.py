"""A scripted OpenAI-compatible `/v1/chat/completions` server on loopback, for end-to-end tests through the real
`ChatOpenAI` client (and any other OpenAI client).

Usage::

    from tests.support.scripted_openai import ScriptedOpenAI, Reply
    from tests.support.fixture_repo import fix_bug_policy

    with ScriptedOpenAI(fix_bug_policy) as server:          # picks a free port on 127.0.0.1
        env = {"OPENAI_BASE_URL": server.base_url,          # "http://127.0.0.1:<port>/v1"
               "OPENAI_API_KEY": "sk-test", "MODEL": "scripted"}
        ...                                                 # run the agent / `langgraph dev` with env
        server.requests                                     # every ChatRequest received, in order

A POLICY is a function `policy(request: ChatRequest) -> Reply`. It must decide from the request alone (messages, tools,
model): the server keeps no conversation state, so any number of concurrent tasks can share one server.
`ChatRequest` has helpers for that: `role` (from the `[open-swe:<role>]` marker of the agent's system prompts),
`calls` (tool calls already made in this conversation), `tool_results`, `last_tool_result`, `user_text`.

Replies: `Reply.text("...")`, `Reply.call("tool", arg=...)`, `Reply.calls(("a", {...}), ("b", {...}))`, and faults:
`Reply.raw_call("tool", "{not json")` (broken JSON arguments), `Reply.empty()` (no content, no tool call),
`Reply.http_error(500)` / `Reply.http_error(429)` (an error status; the client retries). An unknown tool or invalid
arguments are just `Reply.call("no_such_tool")` / `Reply.call("view", wrong=1)`.
Streaming requests (`"stream": true`) get SSE chunks (tool-call arguments split across chunks), and a final usage chunk
when `stream_options.include_usage` is set. Usage is estimated as characters / 4.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

_ROLE = re.compile(r"\[open-swe:([a-z_]+)\]")
_IDS = itertools.count(1)


@dataclass(frozen=True)
class ToolCallSpec:
    name: str
    arguments: str
    """The raw JSON text of the arguments (may be deliberately broken)."""
    id: str = ""


@dataclass(frozen=True)
class Reply:
    content: str = ""
    tool_calls: tuple[ToolCallSpec, ...] = ()
    status: int = 200
    """An HTTP status other than 200 makes the server answer with an OpenAI-style error body."""
    error: str = ""

    @staticmethod
    def text(content: str) -> Reply:
        return Reply(content=content)

    @staticmethod
    def call(name: str, **args: Any) -> Reply:
        return Reply(tool_calls=(ToolCallSpec(name, json.dumps(args)),))

    @staticmethod
    def calls(*pairs: tuple[str, dict[str, Any]]) -> Reply:
        return Reply(tool_calls=tuple(ToolCallSpec(n, json.dumps(a)) for n, a in pairs))

    @staticmethod
    def raw_call(name: str, raw_arguments: str) -> Reply:
        return Reply(tool_calls=(ToolCallSpec(name, raw_arguments),))

    @staticmethod
    def empty() -> Reply:
        return Reply()

    @staticmethod
    def http_error(status: int, message: str = "scripted failure") -> Reply:
        return Reply(status=status, error=message)


@dataclass(frozen=True)
class ToolResult:
    name: str
    content: str
    call_id: str
    args: dict[str, Any]


@dataclass
class ChatRequest:
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    model: str = ""
    stream: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def system(self) -> str:
        return "\n".join(_text(m) for m in self.messages if m.get("role") in ("system", "developer"))

    @property
    def role(self) -> str:
        """The agent role answering: router, planner, programmer, reviewer, summarizer, diagnose ('' if unmarked)."""
        found = _ROLE.search(self.system) or _ROLE.search(" ".join(_text(m) for m in self.messages[:2]))
        return found.group(1) if found else ""

    @property
    def tool_names(self) -> list[str]:
        return [t.get("function", {}).get("name", "") for t in self.tools]

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Tool calls the assistant already made in this conversation, oldest first (unparsable args as {})."""
        out = []
        for m in self.messages:
            for c in m.get("tool_calls") or []:
                fn = c.get("function", {})
                out.append((fn.get("name", ""), _loads(fn.get("arguments"))))
        return out

    @property
    def call_names(self) -> list[str]:
        return [name for name, _ in self.calls]

    @property
    def tool_results(self) -> list[ToolResult]:
        by_id = {}
        for m in self.messages:
            for c in m.get("tool_calls") or []:
                fn = c.get("function", {})
                by_id[c.get("id")] = (fn.get("name", ""), _loads(fn.get("arguments")))
        results = []
        for m in self.messages:
            if m.get("role") == "tool":
                name, args = by_id.get(m.get("tool_call_id"), ("", {}))
                results.append(ToolResult(name, _text(m), m.get("tool_call_id", ""), args))
        return results

    @property
    def last_tool_result(self) -> ToolResult | None:
        results = self.tool_results
        return results[-1] if results else None

    @property
    def user_text(self) -> str:
        """The text of the last user message."""
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return _text(m)
        return ""


Policy = Callable[[ChatRequest], Reply]


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _loads(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def estimate_tokens(payload: Any) -> int:
    return max(1, len(json.dumps(payload, default=str)) // 4)


def completion_body(reply: Reply, request: ChatRequest) -> dict[str, Any]:
    """The non-streaming `chat.completion` object for `reply`."""
    calls = [
        {"id": c.id or f"call_{next(_IDS)}", "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in reply.tool_calls
    ]
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    prompt = estimate_tokens(request.messages) + (estimate_tokens(request.tools) if request.tools else 0)
    completion = estimate_tokens(message) if (reply.content or calls) else 0
    return {
        "id": f"chatcmpl-{next(_IDS)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model or "scripted",
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop", "logprobs": None}
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def stream_chunks(body: dict[str, Any], include_usage: bool) -> Iterator[dict[str, Any]]:
    """The same completion as a sequence of `chat.completion.chunk` objects."""
    base = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"], "model": body["model"]}
    message = body["choices"][0]["message"]
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    content = message.get("content") or ""
    for start in range(0, len(content), 16):
        yield {
            **base,
            "choices": [{"index": 0, "delta": {"content": content[start : start + 16]}, "finish_reason": None}],
        }
    for index, call in enumerate(message.get("tool_calls") or []):
        args = call["function"]["arguments"]
        half = len(args) // 2
        first = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": args[:half]},
        }
        yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [first]}, "finish_reason": None}]}
        rest = {"index": index, "function": {"arguments": args[half:]}}
        yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [rest]}, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": body["choices"][0]["finish_reason"]}]}
    if include_usage:
        yield {**base, "choices": [], "usage": body["usage"]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *_: Any) -> None:  # quiet
        return

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            raw = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        request = ChatRequest(
            messages=raw.get("messages") or [],
            tools=raw.get("tools") or [],
            model=raw.get("model", ""),
            stream=bool(raw.get("stream")),
            raw=raw,
        )
        self.server.owner.record(request)
        try:
            reply = self.server.owner.policy(request)
        except Exception as exc:  # a policy bug shows up as a 500 with its message
            reply = Reply.http_error(500, f"policy raised {type(exc).__name__}: {exc}")
        if reply.status != 200:
            kind = "rate_limit_exceeded" if reply.status == 429 else "server_error"
            self._send_json(reply.status, {"error": {"message": reply.error, "type": kind, "code": kind}})
            return
        body = completion_body(reply, request)
        if not request.stream:
            self._send_json(200, body)
            return
        include_usage = bool((raw.get("stream_options") or {}).get("include_usage"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in stream_chunks(body, include_usage):
            self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: ScriptedOpenAI


class ScriptedOpenAI:
    """The scripted server. Start with `with ScriptedOpenAI(policy) as s:` (or `start()` / `stop()`)."""

    def __init__(self, policy: Policy, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.policy = policy
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.requests: list[ChatRequest] = []

    def record(self, request: ChatRequest) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    def requests_for(self, role: str) -> list[ChatRequest]:
        with self._lock:
            return [r for r in self.requests if r.role == role]

    def start(self) -> ScriptedOpenAI:
        self._server = _Server((self._host, self._port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="scripted-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ScriptedOpenAI:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main() -> None:  # pragma: no cover - manual use: python -m tests.support.scripted_openai
    from tests.support.fixture_repo import fix_bug_policy

    with ScriptedOpenAI(fix_bug_policy, port=0) as server:
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()


class _SetsEnv(Protocol):
    """The part of pytest.MonkeyPatch used here (test support does not import pytest)."""

    def setenv(self, name: str, value: str) -> None: ...


def use_model_endpoint(
    server: ScriptedOpenAI, env: _SetsEnv, *, api_key: str = "sk-test-0000000", model: str = "scripted"
) -> None:
    """Point the agent's model settings (OPENAI_BASE_URL, OPENAI_API_KEY, MODEL) at `server`, e.g. with monkeypatch."""
    env.setenv("OPENAI_BASE_URL", server.base_url)
    env.setenv("OPENAI_API_KEY", api_key)
    env.setenv("MODEL", model)


@contextmanager
def model_endpoint(
    policy: Policy, env: _SetsEnv, *, api_key: str = "sk-test-0000000", model: str = "scripted"
) -> Iterator[ScriptedOpenAI]:
    """Serve `policy` on loopback for the block, with the agent's model settings pointing at it."""
    with ScriptedOpenAI(policy) as server:
        use_model_endpoint(server, env, api_key=api_key, model=model)
        yield server
