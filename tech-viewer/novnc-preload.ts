// The noVNC modules the viewer imports, for <link rel="modulepreload">: a
// browser finds an ES module's imports only once it has the module, so
// noVNC's ~40 files arrived in waves, one round trip a level (issue 31: part
// of "Open viewer" → first frame). Listed once at start from rfb.js's imports.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, normalize, relative } from 'node:path';

const IMPORT = /^\s*import\s[^'"]*['"](\.{1,2}\/[^'"]+\.js)['"]/gm;
/** A bound on the walk (noVNC 1.7 has about 40 modules under core/ and vendor/). */
const MAX_MODULES = 200;

/** URL paths under /vendor/novnc/ of rfb.js and everything it imports, rfb.js first. */
export function novncModulePaths(): string[] {
  // As server/app.ts finds it: the package's main module is core/rfb.js.
  const root = join(dirname(fileURLToPath(import.meta.resolve('@novnc/novnc'))), '..');
  const seen = new Set<string>();
  const queue = [join(root, 'core', 'rfb.js')];
  while (queue.length > 0 && seen.size < MAX_MODULES) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) queue.push(normalize(join(dirname(file), m[1]!)));
  }
  return [...seen].map((file) => `/vendor/novnc/${relative(root, file).split('\\').join('/')}`);
}
