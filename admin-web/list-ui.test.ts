// The pages whose lists their script draws — the profile's API tokens and the
// Webhooks page — draw them with one helper (public/list-ui.js), not each
// with its own copy of the cells, buttons, notices and the secret shown once
// (webhooks.js had copied api-tokens.js's). What they draw is tested in
// Chromium by api-tokens-page.test.ts and webhooks-page.test.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const publicDir = join(import.meta.dirname, 'public');
const source = (name: string) => readFileSync(join(publicDir, name), 'utf8');
const helpers = [...source('list-ui.js').matchAll(/^export function (\w+)/gm)].map((m) => m[1]!);

describe('list-ui.js', () => {
  it('exports the shared parts', () => {
    expect(helpers).toEqual(expect.arrayContaining(['cell', 'rowHeader', 'codeList', 'actionButton', 'fillTable', 'notices', 'showOnce']));
  });

  it.each(['api-tokens.js', 'webhooks.js'])('%s uses it and keeps no copy of its parts', (name) => {
    const text = source(name);
    expect(text).toMatch(/from '\.\/list-ui\.js'/);
    const copies = helpers.filter((h) => new RegExp(`function ${h}\\(`).test(text));
    expect(copies, `${name} defines its own`).toEqual([]);
    // Cells, row headers and buttons are made by the helper only.
    expect(text.match(/createElement\('(td|th|button)'\)/g) ?? []).toEqual([]);
    expect(text).not.toMatch(/function (cell|button)\(/);
  });
});
