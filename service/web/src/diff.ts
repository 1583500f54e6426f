// A unified diff (git's) split into files, each with its lines classified, for the collapsible diff view.

export type DiffLineKind = "add" | "del" | "context" | "hunk" | "meta";

export interface DiffLine {
  kind: DiffLineKind;
  text: string;
}

export interface DiffFile {
  path: string;
  added: number;
  removed: number;
  lines: DiffLine[];
}

function pathOf(header: string): string {
  const match = /^diff --git a\/(.+?) b\/(.+)$/.exec(header);
  return match ? match[2] : header.replace(/^diff --git /, "");
}

export function parseDiff(diff: string): DiffFile[] {
  const files: DiffFile[] = [];
  let current: DiffFile | null = null;
  for (const line of diff.split("\n")) {
    if (line.startsWith("diff --git ")) {
      current = { path: pathOf(line), added: 0, removed: 0, lines: [] };
      files.push(current);
      continue;
    }
    if (current === null) {
      if (!line.trim()) continue;
      current = { path: "(diff)", added: 0, removed: 0, lines: [] };
      files.push(current);
    }
    const inHunk = current.lines.some((l) => l.kind === "hunk");
    if (line.startsWith("@@")) current.lines.push({ kind: "hunk", text: line });
    else if (!inHunk) {
      if (line.startsWith("+++ b/")) current.path = line.slice(6);
      current.lines.push({ kind: "meta", text: line });
    } else if (line.startsWith("+")) {
      current.added += 1;
      current.lines.push({ kind: "add", text: line });
    } else if (line.startsWith("-")) {
      current.removed += 1;
      current.lines.push({ kind: "del", text: line });
    } else if (line.startsWith("\\")) current.lines.push({ kind: "meta", text: line });
    else current.lines.push({ kind: "context", text: line });
  }
  for (const file of files) {
    while (file.lines.length && file.lines[file.lines.length - 1].kind === "context" && !file.lines[file.lines.length - 1].text)
      file.lines.pop();
  }
  return files;
}
