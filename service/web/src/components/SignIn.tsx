import { useState } from "preact/hooks";
import { Api } from "../api";
import { normalizeServer, type Session } from "../session";

export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [server, setServer] = useState("");
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    let session: Session;
    try {
      session = { server: normalizeServer(server, location.origin), key: key.trim() };
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      return;
    }
    setBusy(true);
    try {
      await new Api(session).listTasks(); // proves the key before keeping it
      onSignedIn(session);
    } catch (e) {
      setError(e instanceof Error && e.message !== "Failed to fetch" ? e.message : `cannot reach ${session.server}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <h1>open-swe</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          API key
          <input
            name="key"
            type="password"
            autoComplete="off"
            required
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </label>
        <label>
          Server <small>(empty: this page's own)</small>
          <input
            name="server"
            type="url"
            placeholder={location.origin}
            value={server}
            onInput={(e) => setServer(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !key.trim()}>
          Sign in
        </button>
        <p class="hint">The key stays in this tab (sessionStorage) and is sent only in request headers.</p>
      </form>
    </main>
  );
}
