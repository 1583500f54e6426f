// The `agent` graph as LangChain's chat UIs (Agent Chat UI, Agent Inbox) drive it, through the official JavaScript
// client against a real server. Run by tests/chatui/test_chatui.py, which starts `langgraph dev` with the scripted
// model and passes: OPEN_SWE_URL, OPEN_SWE_API_KEY, OPEN_SWE_REPOS (JSON list of fresh fixture repositories),
// OPEN_SWE_TASK, OPEN_SWE_PLAN (JSON list of the plan's steps), OPEN_SWE_SUMMARY.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client } from "@langchain/langgraph-sdk";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/chatui/test_chatui.py`);
  return value;
};
const client = new Client({ apiUrl: env("OPEN_SWE_URL"), apiKey: env("OPEN_SWE_API_KEY") });
const repos = JSON.parse(env("OPEN_SWE_REPOS"));
const TASK = env("OPEN_SWE_TASK");
const PLAN = JSON.parse(env("OPEN_SWE_PLAN"));
const SUMMARY = env("OPEN_SWE_SUMMARY");
// What Agent Chat UI's useStream asks for.
const STREAM_MODE = ["values", "messages-tuple", "updates"];
// The nodes that speak in the conversation; every other node works on the role models' own conversations.
const SPEAKERS = new Set(["planner_finish", "programmer_step", "finish"]);

async function streamRun(threadId, payload) {
  const parts = [];
  for await (const part of client.runs.stream(threadId, "agent", { ...payload, streamMode: STREAM_MODE })) {
    parts.push(part);
  }
  const errors = parts.filter((p) => p.event === "error");
  assert.deepEqual(errors, [], "the run streamed an error");
  return parts;
}

const streamedMessages = (parts) =>
  parts.filter((p) => p.event === "messages").map(({ data: [message, metadata] }) => ({ message, metadata }));

// Agent Chat UI's test for an interrupt it renders with approve / edit / reject (lib/agent-inbox-interrupt.ts).
function isHitlRequest(value) {
  return (
    Array.isArray(value?.action_requests) &&
    value.action_requests.length > 0 &&
    value.action_requests.every((r) => typeof r.name === "string" && r.args && typeof r.args === "object") &&
    Array.isArray(value?.review_configs) &&
    value.review_configs.length > 0 &&
    value.review_configs.every((c) => typeof c.action_name === "string" && Array.isArray(c.allowed_decisions))
  );
}

async function taskUntilPlan(repo) {
  const thread = await client.threads.create();
  const parts = await streamRun(thread.thread_id, {
    input: { messages: [{ type: "human", content: TASK }], repo },
  });
  const interrupted = parts.filter((p) => p.event === "updates" && p.data.__interrupt__);
  if (interrupted.length !== 1) {
    const { values } = await client.threads.getState(thread.thread_id);
    assert.fail(`no plan interrupt: status ${values.status} ${values.reason ?? ""}; streamed ${parts.map((p) => p.event)}`);
  }
  const [interrupt] = interrupted[0].data.__interrupt__;
  // useStream (Agent Chat UI) shows the interrupt of the last `values` event
  const lastValues = parts.filter((p) => p.event === "values").at(-1);
  assert.deepEqual(lastValues.data.__interrupt__?.[0]?.value, interrupt.value, "the interrupt in the values stream");
  const stored = await client.threads.get(thread.thread_id);
  assert.equal(stored.status, "interrupted");
  return { threadId: thread.thread_id, interrupt, parts };
}

async function checkFinishedConversation(threadId, streamed) {
  const state = await client.threads.getState(threadId);
  assert.equal(state.values.status, "completed");
  const messages = state.values.messages;
  assert.deepEqual(
    messages.map((m) => m.type),
    ["human", "ai", "ai", "ai", "ai"],
    "the request, the plan, one note per plan item, the summary",
  );
  const [request, plan, first, second, summary] = messages.map((m) => m.content);
  assert.equal(request, TASK);
  assert.match(plan, /^Here is my plan:/);
  for (const step of PLAN) assert.ok(plan.includes(step), `the plan message lists "${step}"`);
  assert.match(first, /^Done 1\/2, /);
  assert.match(second, /^Done 2\/2, /);
  assert.ok(summary.startsWith(SUMMARY), summary);
  assert.match(summary, /1 file changed, \+1 -1 on branch `agent\//);
  for (const m of messages) assert.deepEqual(m.tool_calls ?? [], [], "no role model's tool call in the conversation");

  // The messages stream carries the conversation and nothing else: no role model's tokens or tool traffic.
  const ids = new Set(messages.map((m) => m.id));
  assert.ok(streamed.length >= 4, `the conversation streamed (${streamed.length} messages)`);
  for (const { message, metadata } of streamed) {
    assert.ok(ids.has(message.id), `streamed message ${message.id} (${message.type}) is in the conversation`);
    assert.ok(SPEAKERS.has(metadata.langgraph_node), `streamed by ${metadata.langgraph_node}`);
    assert.ok(!message.type.endsWith("chunk"), "no token chunk of a role model");
  }
}

test("plan interrupt in the HITL format, resumed with {decisions: [{type: approve}]}", async () => {
  const { threadId, interrupt, parts } = await taskUntilPlan(repos[0]);
  assert.ok(isHitlRequest(interrupt.value), JSON.stringify(interrupt.value));
  const [action] = interrupt.value.action_requests;
  assert.equal(action.name, "approve_plan");
  assert.deepEqual(action.args, { plan: PLAN });
  for (const step of PLAN) assert.ok(action.description.includes(step));
  assert.deepEqual(interrupt.value.review_configs[0].allowed_decisions, ["approve", "edit", "reject"]);

  const resumed = await streamRun(threadId, { command: { resume: { decisions: [{ type: "approve" }] } } });
  await checkFinishedConversation(threadId, [...streamedMessages(parts), ...streamedMessages(resumed)]);
});

test("the older HumanInterrupt resume [{type: accept, args: null}] is accepted", async () => {
  const { threadId, parts } = await taskUntilPlan(repos[1]);
  const resumed = await streamRun(threadId, { command: { resume: [{ type: "accept", args: null }] } });
  await checkFinishedConversation(threadId, [...streamedMessages(parts), ...streamedMessages(resumed)]);
});
