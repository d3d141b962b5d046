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
  // The API's own /docs and /redoc pages load these from here, not from a CDN, so they work offline.
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui.css"],
  ["swagger-ui-dist/LICENSE", "swagger-ui.LICENSE"],
  ["redoc/bundles/redoc.standalone.js", "redoc.standalone.js"],
  ["redoc/LICENSE", "redoc.LICENSE"],
];
for (const [from, to] of files) copyFileSync(join(root, "node_modules", from), join(out, to));

// ReDoc's footer shows a logo fetched from its CDN; a page served offline must not reach out, so the
// image points at an empty data: URL instead (its onError handler then hides it).
const redocLogo = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const redoc = join(out, "redoc.standalone.js");
const redocJs = readFileSync(redoc, "utf8");
if (!redocJs.includes(redocLogo)) throw new Error(`${redocLogo} not found in redoc.standalone.js: update vendor.mjs`);
writeFileSync(redoc, redocJs.replaceAll(redocLogo, "data:,"));

const versions = ["preact", "htm", "swagger-ui-dist", "redoc"].map((name) => {
  const pkg = JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8"));
  return `${name} ${pkg.version}`;
});
writeFileSync(join(out, "VERSIONS.txt"), versions.join("\n") + "\n");
console.log(`vendored ${versions.join(", ")} into static/vendor`);
