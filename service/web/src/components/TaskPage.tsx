import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { followEvents, type Api } from "../api";
import { REFRESH_EVENTS, addToTerminal, applyToPlan, emptyTerminal, type Terminal as TerminalModel } from "../events";
import { TERMINAL, type PlanItem, type TaskView } from "../types";
import { DiffView } from "./DiffView";
import { Pending } from "./Pending";
import { Plan } from "./Plan";
import { StatusBadge } from "./StatusBadge";
import { Terminal } from "./Terminal";
import { UsagePanel } from "./UsagePanel";

export function TaskPage({ api, id }: { api: Api; id: string }) {
  const [view, setView] = useState<TaskView | null>(null);
  const [plan, setPlan] = useState<PlanItem[]>([]);
  const [terminal, setTerminal] = useState<TerminalModel>(emptyTerminal);
  const [connection, setConnection] = useState("connecting");
  const [error, setError] = useState<string | null>(null);
  const [followUp, setFollowUp] = useState("");
  const refreshTimer = useRef<ReturnType<typeof setTimeout>>();

  const refresh = useCallback(async () => {
    try {
      const next = await api.getTask(id);
      setView(next);
      if (next.plan.length > 0) setPlan(next.plan);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [api, id]);

  useEffect(() => {
    setView(null);
    setPlan([]);
    setTerminal(emptyTerminal);
    void refresh();
    const stream = followEvents(
      api,
      id,
      (message) => {
        if (message.type === "event") {
          setTerminal((t) => addToTerminal(t, message));
          setPlan((p) => applyToPlan(p, message));
          if (REFRESH_EVENTS.has(message.event)) {
            clearTimeout(refreshTimer.current);
            refreshTimer.current = setTimeout(() => void refresh(), 250);
          }
        } else if (message.type === "error") {
          setError(message.detail);
        }
      },
      (state, detail) => setConnection(detail ? `${state}: ${detail}` : state),
    );
    return () => {
      stream.close();
      clearTimeout(refreshTimer.current);
    };
  }, [api, id, refresh]);

  const act = (step: () => Promise<unknown>) => async () => {
    setError(null);
    try {
      await step();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
    await refresh();
  };

  if (view === null) {
    return <main class="task">{error ? <p class="error">{error}</p> : <p>Loading...</p>}</main>;
  }
  const ended = TERMINAL.has(view.status);
  return (
    <main class="task">
      <section class="panel head">
        <div class="row spread">
          <h2 class="task-title">{view.task}</h2>
          <StatusBadge status={view.status} />
        </div>
        <dl class="facts">
          <dt>repository</dt>
          <dd>{view.repo ?? "-"}</dd>
          <dt>sandbox</dt>
          <dd>{view.sandbox ?? "-"}</dd>
          <dt>branch</dt>
          <dd class="branch">{view.branch ?? "-"}</dd>
          <dt>events</dt>
          <dd class="connection">{connection}</dd>
        </dl>
        {view.reason && <p class="reason">{view.reason}</p>}
        {view.summary && <p class="summary">{view.summary}</p>}
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        {!ended && (
          <button type="button" class="danger" onClick={act(() => api.cancel(id))}>
            Cancel task
          </button>
        )}
      </section>
      {view.pending && !ended && (
        <Pending
          key={`${view.pending.type}-${view.last_event_id}`}
          pending={view.pending}
          actions={{
            approve: (steps) => act(() => api.approve(id, steps))(),
            reject: () => act(() => api.reject(id))(),
            message: (text) => act(() => api.message(id, text))(),
          }}
        />
      )}
      <div class="columns">
        <section class="panel">
          <h3>Plan</h3>
          <Plan plan={plan} />
        </section>
        <section class="panel grow">
          <h3>Activity</h3>
          <Terminal terminal={terminal} />
        </section>
      </div>
      <section class="panel">
        <h3>Diff</h3>
        <DiffView diff={view.diff ?? ""} />
      </section>
      <section class="panel">
        <h3>Usage and cost</h3>
        <UsagePanel usage={view.usage} />
      </section>
      {ended && (
        <section class="panel" aria-label="Follow-up">
          <h3>Follow-up</h3>
          <textarea name="followup" rows={2} value={followUp} onInput={(e) => setFollowUp(e.currentTarget.value)} />
          <button
            type="button"
            disabled={!followUp.trim()}
            onClick={act(async () => {
              await api.message(id, followUp.trim());
              setFollowUp("");
            })}
          >
            Send follow-up
          </button>
        </section>
      )}
    </main>
  );
}
