import { useEffect, useRef } from "preact/hooks";
import type { Terminal as TerminalModel } from "../events";

export function Terminal({ terminal }: { terminal: TerminalModel }) {
  const ref = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  });
  const running = Object.values(terminal.partial).filter(Boolean);
  return (
    <pre
      ref={ref}
      class="terminal"
      aria-label="Tool calls and command output"
      onScroll={(e) => {
        const el = e.currentTarget;
        pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
    >
      {terminal.lines.length === 0 && running.length === 0 && <span class="t-info">Waiting for the agent...</span>}
      {terminal.lines.map((line, i) => (
        <div key={i} class={`t-${line.kind}`}>
          {line.text || " "}
        </div>
      ))}
      {running.map((text, i) => (
        <div key={`p${i}`} class="t-output">
          {text}
        </div>
      ))}
    </pre>
  );
}
