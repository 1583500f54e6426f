import { useState } from "preact/hooks";
import type { Api } from "../api";
import type { NewTask } from "../types";

export function NewTaskForm({ api, onCreated }: { api: Api; onCreated: (id: string) => void }) {
  const [form, setForm] = useState<NewTask>({ task: "", repo: "", model: "", auto_approve: false });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<NewTask>) => setForm((f) => ({ ...f, ...patch }));

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api.createTask(form);
      onCreated(created.id);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel">
      <h2>New task</h2>
      <form onSubmit={submit} aria-label="New task" class="new-task">
        <label>
          Task
          <textarea
            name="task"
            required
            rows={3}
            placeholder="Fix the failing test in calc"
            value={form.task}
            onInput={(e) => set({ task: e.currentTarget.value })}
          />
        </label>
        <label>
          Repository <small>(absolute path or git URL; empty: the server's default)</small>
          <input name="repo" value={form.repo} onInput={(e) => set({ repo: e.currentTarget.value })} />
        </label>
        <div class="row">
          <label>
            Sandbox
            <select
              name="sandbox"
              value={form.sandbox ?? ""}
              onChange={(e) => {
                const value = e.currentTarget.value;
                set({ sandbox: value === "local" || value === "daytona" ? value : undefined });
              }}
            >
              <option value="">server default</option>
              <option value="local">local</option>
              <option value="daytona">daytona</option>
            </select>
          </label>
          <label>
            Model <small>(empty: the server's)</small>
            <input
              name="model"
              placeholder="openai:gpt-4.1"
              value={form.model}
              onInput={(e) => set({ model: e.currentTarget.value })}
            />
          </label>
          <label class="check">
            <input
              name="auto_approve"
              type="checkbox"
              checked={form.auto_approve}
              onChange={(e) => set({ auto_approve: e.currentTarget.checked })}
            />
            Auto-approve the plan
          </label>
        </div>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !form.task.trim()}>
          Start task
        </button>
      </form>
    </section>
  );
}
