// The import directions ARCHITECTURE.md states, checked over every source
// file (tests, benchmarks and their helpers aside): a folder imports only
// what its row allows. Plus: no npm script points at a file that is not there.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

/** Which top-level folders each folder may import from (its own always). Keep in step with ARCHITECTURE.md. */
const allowed: Record<string, readonly string[]> = {
  protocol: [],
  lib: [],
  migrations: [],
  repeater: ['protocol', 'lib'],
  'desktop-client': ['protocol', 'lib'],
  server: ['protocol', 'lib', 'repeater', 'migrations'],
  'admin-web': ['server', 'protocol', 'lib'],
  'tech-viewer': ['server', 'admin-web', 'protocol', 'lib'],
};

/** The composition root mounts the web apps' routers on the server: the one place server/ imports them. */
const exceptions: Record<string, readonly string[]> = {
  'server/app.ts': ['admin-web', 'tech-viewer'],
};

const isTestCode = (path: string) => /\.test\.ts$|\.test-helpers\.ts$|^test\/|^bench\//.test(path);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    if (name === 'node_modules' || name === 'dist' || name === 'vendor') continue;
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|cts|js)$/.test(name)) out.push(path);
  }
  return out;
}

function importsOf(path: string): string[] {
  const text = readFileSync(join(root, path), 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)|require\('([^']+)'\)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
  return specifiers.filter((s) => s.startsWith('.'));
}

describe('architecture', () => {
  it('every folder imports only what ARCHITECTURE.md allows', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const folder of Object.keys(allowed)) {
      for (const path of sources(folder)) {
        if (isTestCode(path)) continue;
        for (const specifier of importsOf(path)) {
          const target = relative(root, resolve(root, dirname(path), specifier));
          const targetFolder = target.split('/')[0]!;
          checked += 1;
          if (targetFolder === folder) continue;
          if ((allowed[folder] ?? []).includes(targetFolder) || exceptions[path]?.includes(targetFolder)) continue;
          broken.push(`${path} imports ${target}`);
        }
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(200); // the scan saw the tree
  });

  it('routes and pages call services, never the database', () => {
    const pages = [...sources('admin-web'), ...sources('tech-viewer'), ...sources('server').filter((p) => /(^|[/-])routes\.ts$/.test(p))].filter((p) => !isTestCode(p));
    const reaching: string[] = [];
    for (const path of pages) {
      const text = readFileSync(join(root, path), 'utf8');
      // A type from a store is a shape; a value is a query.
      for (const m of text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gm)) {
        if (/(^knex$|store\.ts$|\/db\/database\.ts$)/.test(m[1]!)) reaching.push(`${path} imports ${m[1]}`);
      }
    }
    expect(pages.length).toBeGreaterThan(10);
    expect(reaching).toEqual([]);
  });

  it('ARCHITECTURE.md states each folder\'s row', () => {
    const doc = readFileSync(join(root, 'ARCHITECTURE.md'), 'utf8');
    for (const [folder, may] of Object.entries(allowed)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${folder}/\``));
      expect(row, folder).toBeDefined();
      for (const other of may) expect(row, `${folder} → ${other}`).toContain(`\`${other}/\``);
    }
  });

  it('no npm script points at a file that is not there', () => {
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const missing: string[] = [];
    for (const [name, command] of Object.entries(scripts)) {
      for (const [, file] of command.matchAll(/(?:tsx|node|--config|start\.mjs)\s+([\w./-]+\.(?:ts|m?js|json))/g)) {
        if (!existsSync(join(root, file!))) missing.push(`${name}: ${file}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
