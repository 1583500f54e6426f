import { describe, expect, it } from "vitest";
import { parseDiff } from "./diff";

const DIFF = `diff --git a/calc.py b/calc.py
index 1..2 100644
--- a/calc.py
+++ b/calc.py
@@ -1,3 +1,3 @@
 def add(a, b):
-    return a - b
+    return a + b
diff --git a/docs/new.md b/docs/new.md
new file mode 100644
--- /dev/null
+++ b/docs/new.md
@@ -0,0 +1,2 @@
+# New
+--- not a header
`;

describe("parseDiff", () => {
  it("splits files and counts their lines", () => {
    const files = parseDiff(DIFF);
    expect(files.map((f) => [f.path, f.added, f.removed])).toEqual([
      ["calc.py", 1, 1],
      ["docs/new.md", 2, 0],
    ]);
    expect(files[0].lines.map((l) => l.kind)).toEqual(["meta", "meta", "meta", "hunk", "context", "del", "add"]);
  });

  it("returns nothing for an empty diff", () => {
    expect(parseDiff("")).toEqual([]);
  });
});
