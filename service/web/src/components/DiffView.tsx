import { useMemo } from "preact/hooks";
import { parseDiff, type DiffLine } from "../diff";
import { highlight, languageFor } from "../highlight";

function Code({ line, path }: { line: DiffLine; path: string }) {
  if (line.kind === "hunk" || line.kind === "meta") return <>{line.text}</>;
  const marker = line.text.slice(0, 1);
  return (
    <>
      <span class="marker">{marker}</span>
      {highlight(line.text.slice(1), languageFor(path)).map((token, i) =>
        token.kind === "plain" ? token.text : (
          <span key={i} class={`tok-${token.kind}`}>
            {token.text}
          </span>
        ),
      )}
    </>
  );
}

export function DiffView({ diff }: { diff: string }) {
  const files = useMemo(() => parseDiff(diff), [diff]);
  if (files.length === 0) return <p class="hint">No changes.</p>;
  return (
    <div class="diff">
      {files.map((file) => (
        <details key={file.path} open={files.length <= 5} class="diff-file">
          <summary>
            <span class="path">{file.path}</span> <span class="added">+{file.added}</span>{" "}
            <span class="removed">-{file.removed}</span>
          </summary>
          <pre>
            {file.lines.map((line, i) => (
              <div key={i} class={`d-${line.kind}`}>
                <Code line={line} path={file.path} />
              </div>
            ))}
          </pre>
        </details>
      ))}
    </div>
  );
}
