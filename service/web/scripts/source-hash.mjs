// The SHA-256 of the page's sources, written beside the bundle (dist/source.sha256) by `npm run build`, so a test
// (tests/web/test_bundle.py, and `npm run check`) can tell that the committed bundle was built from these sources.
// Keep the file list and the hashing in step with tests/web/test_bundle.py.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const FILES = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts"];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

export function sourceHash() {
  const sources = walk(join(root, "src"))
    .map((p) => relative(root, p))
    .filter((p) => !/\.test\.tsx?$/.test(p));
  const hash = createHash("sha256");
  for (const path of [...FILES, ...sources].sort()) {
    hash.update(path + "\0");
    hash.update(readFileSync(join(root, path)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const target = join(root, "dist", "source.sha256");
if (process.argv.includes("--write")) {
  writeFileSync(target, sourceHash() + "\n");
} else if (process.argv.includes("--check")) {
  const recorded = readFileSync(target, "utf8").trim();
  if (recorded !== sourceHash()) {
    console.error("service/web/dist is stale: run `npm run build` in service/web and commit dist/");
    process.exit(1);
  }
}
