import { useEffect, useMemo, useState } from "preact/hooks";
import { Api } from "./api";
import { NewTaskForm } from "./components/NewTaskForm";
import { SignIn } from "./components/SignIn";
import { TaskList } from "./components/TaskList";
import { TaskPage } from "./components/TaskPage";
import { clearSession, loadSession, saveSession, type Session } from "./session";

/** The view the URL fragment names: `#/` the task list, `#/tasks/<id>` one task. */
export function routeOf(hash: string): { page: "list" } | { page: "task"; id: string } {
  const match = /^#\/tasks\/([^/?#]+)$/.exec(hash);
  return match ? { page: "task", id: decodeURIComponent(match[1]) } : { page: "list" };
}

export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  const api = useMemo(() => (session ? new Api(session) : null), [session]);

  if (!session || !api) {
    return (
      <SignIn
        onSignedIn={(s) => {
          saveSession(s);
          setSession(s);
        }}
      />
    );
  }
  const route = routeOf(hash);
  return (
    <div class="shell">
      <header class="top">
        <a href="#/" class="brand">
          open-swe
        </a>
        <span class="who" title={session.server}>
          {session.server}
        </span>
        <button
          type="button"
          class="link"
          onClick={() => {
            clearSession();
            setSession(null);
          }}
        >
          Sign out
        </button>
      </header>
      {route.page === "task" ? (
        <TaskPage api={api} id={route.id} />
      ) : (
        <main class="home">
          <NewTaskForm api={api} onCreated={(id) => (location.hash = `#/tasks/${encodeURIComponent(id)}`)} />
          <TaskList api={api} />
        </main>
      )}
    </div>
  );
}
