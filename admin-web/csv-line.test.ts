// The history's CSV rows, safe to open in a spreadsheet (OWASP "CSV Injection").
import { describe, expect, it } from 'vitest';
import { csvLine } from './ticket-pages.ts';

describe('csvLine', () => {
  it('defuses formulas — after spaces too, full-width forms too — and quotes cells a spreadsheet could split', () => {
    expect(csvLine(['=1+1', ' +1', '\u3000\uFF0D1', '\uFF1DA1', '@x', '\r=x', '\tx', 'x;=1+1', 'a,b', 'say "hi"', 'two\nlines', 'plain', 42])).toBe(
      `'=1+1,' +1,'\u3000\uFF0D1,'\uFF1DA1,'@x,"'\r=x","'\tx","x;=1+1","a,b","say ""hi""","two\nlines",plain,42\r\n`,
    );
  });
});
