import { useState } from "preact/hooks";
import type { Pending as PendingInput } from "../types";

export interface PendingActions {
  approve: (plan?: string[]) => Promise<void>;
  reject: () => Promise<void>;
  message: (text: string) => Promise<void>;
}

/** What the task waits for: the plan to approve, edit, reject or comment on, or a question to answer. */
export function Pending({ pending, actions }: { pending: PendingInput; actions: PendingActions }) {
  const [editing, setEditing] = useState(false);
  const [steps, setSteps] = useState(() => (pending.plan ?? []).map((item) => item.description).join("\n"));
  const [text, setText] = useState("");

  if (pending.type === "question") {
    return (
      <section class="panel pending" aria-label="Question">
        <h3>The agent asks</h3>
        <p class="question">{pending.question}</p>
        <textarea name="answer" aria-label="Your answer" rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <button type="button" disabled={!text.trim()} onClick={() => actions.message(text.trim())}>
          Answer
        </button>
      </section>
    );
  }
  const edited = steps
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);
  return (
    <section class="panel pending" aria-label="Plan approval">
      <h3>The plan waits for your approval</h3>
      {editing ? (
        <>
          <label>
            One step per line
            <textarea name="plan" rows={6} value={steps} onInput={(e) => setSteps(e.currentTarget.value)} />
          </label>
          <div class="row">
            <button type="button" disabled={edited.length === 0} onClick={() => actions.approve(edited)}>
              Run edited plan
            </button>
            <button type="button" class="secondary" onClick={() => setEditing(false)}>
              Back
            </button>
          </div>
        </>
      ) : (
        <>
          <div class="row">
            <button type="button" onClick={() => actions.approve()}>
              Approve
            </button>
            <button type="button" class="secondary" onClick={() => setEditing(true)}>
              Edit
            </button>
            <button type="button" class="danger" onClick={() => actions.reject()}>
              Reject
            </button>
          </div>
          <label>
            Or send feedback (the planner revises the plan)
            <textarea name="feedback" rows={2} value={text} onInput={(e) => setText(e.currentTarget.value)} />
          </label>
          <button type="button" class="secondary" disabled={!text.trim()} onClick={() => actions.message(text.trim())}>
            Send feedback
          </button>
        </>
      )}
    </section>
  );
}
