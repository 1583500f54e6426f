import { useEffect, useState } from "preact/hooks";
import type { Api } from "../api";
import type { TaskView } from "../types";
import { StatusBadge } from "./StatusBadge";

export const LIST_REFRESH_MS = 2000;

export function TaskList({ api }: { api: Api }) {
  const [tasks, setTasks] = useState<TaskView[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const { tasks } = await api.listTasks();
        if (!stopped) {
          setTasks(tasks);
          setError(null);
        }
      } catch (e) {
        if (!stopped) setError(e instanceof Error ? e.message : String(e));
      }
      if (!stopped) timer = setTimeout(load, LIST_REFRESH_MS);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api]);

  return (
    <section class="panel tasks">
      <h2>Your tasks</h2>
      {error && <p class="error">{error}</p>}
      {tasks === null ? (
        <p>Loading...</p>
      ) : tasks.length === 0 ? (
        <p class="hint">No tasks yet.</p>
      ) : (
        <ul class="task-list">
          {tasks.map((task) => (
            <li key={task.id}>
              <a href={`#/tasks/${encodeURIComponent(task.id)}`}>
                <StatusBadge status={task.status} />
                <span class="task-text">{task.task}</span>
                <small>{task.repo}</small>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
