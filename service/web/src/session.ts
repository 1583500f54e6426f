// The signed-in session: the API key and the server it is for, kept in sessionStorage (gone when the tab closes),
// never in a URL.

export interface Session {
  server: string;
  key: string;
}

const STORAGE_KEY = "open-swe.session";

export function loadSession(storage: Storage = sessionStorage): Session | null {
  try {
    const value = JSON.parse(storage.getItem(STORAGE_KEY) ?? "null") as Partial<Session> | null;
    return value && typeof value.key === "string" && typeof value.server === "string"
      ? { server: value.server, key: value.key }
      : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session, storage: Storage = sessionStorage): void {
  storage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(storage: Storage = sessionStorage): void {
  storage.removeItem(STORAGE_KEY);
}

/** `http(s)://host[:port]` without a trailing slash; the page's own origin when empty. */
export function normalizeServer(value: string, fallback: string): string {
  const text = value.trim() || fallback;
  const url = new URL(text);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("the server must be an http(s) URL");
  return url.origin;
}
