// The desktop client can be built alone: its package.json declares every
// package its code loads at run time (followed through every file it imports,
// the shared ones outside this folder too), and the electron-builder
// configuration names the Linux targets. (Building needs Electron's download,
// which this machine cannot make: see the README.)
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const here = import.meta.dirname;
const manifest = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  build: { linux: { target: string[] }; deb: { depends: string[] }; files: string[] };
};

/** Bare packages loaded at run time by `entry` and every file it imports (type-only imports load nothing). */
function runtimePackages(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...source.matchAll(/^import\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!),
      ...[...source.matchAll(/^import\s+'([^']+)'/gm)].map((m) => m[1]!),
      ...[...source.matchAll(/createRequire\([^)]*\)\('([^']+)'\)/g)].map((m) => m[1]!),
    ];
    for (const spec of specifiers) {
      if (spec.startsWith('.')) {
        if (spec.endsWith('.ts')) visit(resolve(dirname(file), spec));
        continue;
      }
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  for (const entry of entries) visit(entry);
  return packages;
}

describe('desktop client package', () => {
  it('declares every package the window, the terminal client and the core load at run time', () => {
    const used = runtimePackages([join(here, 'main', 'main.ts'), join(here, 'cli.ts')]);
    expect([...used].sort()).toEqual(expect.arrayContaining(['des.js', 'electron', 'https-proxy-agent', 'undici', 'ws', 'zod']));
    const declared = new Set(Object.keys(manifest.dependencies));
    const missing = [...used].filter((p) => p !== 'electron' && !declared.has(p));
    expect(missing).toEqual([]);
    expect(used.has('electron')).toBe(true);
    expect(manifest.devDependencies.electron).toBeTruthy();
  });

  it('builds a Linux AppImage and a .deb that depends on x11vnc', () => {
    expect(manifest.build.linux.target).toEqual(['AppImage', 'deb']);
    expect(manifest.build.deb.depends).toContain('x11vnc');
    expect(manifest.build.files).toContain('dist/**/*');
    expect(manifest.devDependencies['electron-builder']).toBeTruthy();
  });
});
