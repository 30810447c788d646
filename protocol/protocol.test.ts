// The wire contracts against the apps that speak them: every close code has
// words in every catalogue (the admin web and viewer, the desktop window and
// terminal), and the viewer reads the same table the repeater closes with.
import { describe, expect, it } from 'vitest';
import { CloseCode, RefusalCode, closeCodeId } from './close-codes.ts';
import { catalogues as webCatalogues, languages } from '../admin-web/messages/index.ts';
import { catalogues as desktopCatalogues } from '../desktop-client/core/messages.ts';
import { closeCodesJson } from '../tech-viewer/close-codes-json.ts';
import { closeCodeNext } from '../desktop-client/core/help-session.ts';
import { desktopStreamEvents } from './desktop-api.ts';

describe('protocol', () => {
  it('every close code has words in every catalogue of every language', () => {
    const missing: string[] = [];
    for (const lang of languages) {
      const web = webCatalogues[lang] as Readonly<Record<string, string>>;
      const desktop = desktopCatalogues[lang] as Readonly<Record<string, string>>;
      for (const id of Object.keys(CloseCode)) {
        if (!web[`reason.${id}`]?.trim()) missing.push(`web ${lang} reason.${id}`);
        if (!desktop[`reason.${id}`]?.trim()) missing.push(`desktop ${lang} reason.${id}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('one table: numbers are unique, in the application range, and read back to their ids; the viewer gets the same table', () => {
    const numbers = Object.values(CloseCode);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const [id, n] of Object.entries(CloseCode)) {
      expect(n).toBeGreaterThanOrEqual(4000);
      expect(n).toBeLessThan(5000);
      expect(closeCodeId(n)).toBe(id);
    }
    expect(closeCodeId(1006)).toBeUndefined();
    expect(closeCodesJson()).toEqual({ ...CloseCode });
    // The desktop decides, for each code, whether to re-arm or end.
    expect(Object.keys(closeCodeNext).sort()).toEqual(Object.keys(CloseCode).sort());
  });

  it('refusals are HTTP statuses a client can act on, and the desktop stream names its events', () => {
    for (const status of Object.values(RefusalCode)) expect([400, 401, 403, 404, 409, 429, 503]).toContain(status);
    expect(desktopStreamEvents).toEqual(['ticket', 'connection', 'session', 'message', 'file']);
  });
});
