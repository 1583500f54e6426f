import type { PlanItem } from "../types";

const MARK: Record<string, string> = { done: "done", in_progress: "working", skipped: "skipped", pending: "" };

export function Plan({ plan }: { plan: PlanItem[] }) {
  if (plan.length === 0) return <p class="hint">No plan yet.</p>;
  const done = plan.filter((item) => item.status === "done" || item.status === "skipped").length;
  return (
    <div class="plan">
      <p class="hint">
        {done} of {plan.length} done
      </p>
      <ol class="checklist">
        {plan.map((item) => (
          <li key={item.index} class={`item-${item.status}`} data-status={item.status}>
            <input type="checkbox" disabled checked={item.status === "done"} aria-label={item.description} />
            <span class="description">{item.description}</span>
            {MARK[item.status] && <em class="mark">{MARK[item.status]}</em>}
            {item.summary && <div class="summary">{item.summary}</div>}
          </li>
        ))}
      </ol>
    </div>
  );
}
