// Copies the pinned front-end libraries (package-lock.json) from node_modules into static/vendor,
// so the served UI needs no build step and no network: `npm ci && npm run vendor`.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "static", "vendor");
mkdirSync(out, { recursive: true });

const files = [
  ["preact/dist/preact.mjs", "preact.mjs"],
  ["preact/hooks/dist/hooks.mjs", "preact-hooks.mjs"],
  ["htm/dist/htm.module.js", "htm.mjs"],
  ["preact/LICENSE", "preact.LICENSE"],
  ["htm/LICENSE", "htm.LICENSE"],
];
for (const [from, to] of files) copyFileSync(join(root, "node_modules", from), join(out, to));

const versions = ["preact", "htm"].map((name) => {
  const pkg = JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8"));
  return `${name} ${pkg.version}`;
});
writeFileSync(join(out, "VERSIONS.txt"), versions.join("\n") + "\n");
console.log(`vendored ${versions.join(", ")} into static/vendor`);
