import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('runs on defaults with no configuration: embedded SQLite, port 8080', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.database).toEqual({ client: 'sqlite', filename: './data/helpdesk.sqlite' });
    expect(config.repeater.waitingTimeoutMs).toBe(100_000);
    expect(config.tokenTtlMs).toBe(120_000);
    expect(Object.isFrozen(config.repeater)).toBe(true);
  });

  it('names every bad variable in one error and hides secret values', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', ALLOWED_ORIGINS: 'not a url', CLIENT_KEY: 'short', DATABASE_URL: 'postgres://x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/PORT.*"eighty"/);
    expect(problems).toMatch(/ALLOWED_ORIGINS/);
    expect(problems).toMatch(/CLIENT_KEY.*value hidden/);
    expect(problems).not.toMatch(/short/);
    expect(problems).toMatch(/DATABASE_URL.*sqlite:, mysql:\/\/ or mariadb:\/\//);
  });

  it('normalises origins and maps mariadb URLs to the mysql client', () => {
    const config = loadConfig({ ALLOWED_ORIGINS: 'https://a.example/, http://b.example:8080', DATABASE_URL: 'mariadb://u:p@127.0.0.1:3306/hd' });
    expect(config.allowedOrigins).toEqual(['https://a.example', 'http://b.example:8080']);
    expect(config.database).toEqual({ client: 'mysql', url: 'mysql://u:p@127.0.0.1:3306/hd' });
  });

  it('upload budgets and the disk watermark have defaults, and 0 turns each off', () => {
    const defaults = loadConfig({});
    expect(defaults.files).toMatchObject({ maxBytesPerTicket: 200 * 1024 ** 2, maxBytesPerAddressPerDay: 1024 ** 3, maxTotalBytes: 20 * 1024 ** 3 });
    expect(defaults.dataMinFreeBytes).toBe(1024 ** 3);
    const off = loadConfig({ FILE_MAX_BYTES_PER_TICKET: '0', FILE_MAX_BYTES_PER_ADDRESS: '0', FILE_MAX_TOTAL_BYTES: '0', DATA_MIN_FREE_BYTES: '0' });
    expect(off.files).toMatchObject({ maxBytesPerTicket: 0, maxBytesPerAddressPerDay: 0, maxTotalBytes: 0 });
    expect(off.dataMinFreeBytes).toBe(0);
    expect(() => loadConfig({ FILE_MAX_TOTAL_BYTES: '-1', DATA_MIN_FREE_BYTES: 'lots' })).toThrow(/FILE_MAX_TOTAL_BYTES[\s\S]*DATA_MIN_FREE_BYTES/);
  });

  it('a server on https:// needs CLIENT_KEY, and says why', () => {
    expect(() => loadConfig({ PUBLIC_URL: 'https://help.example.com' })).toThrow(/CLIENT_KEY: required when PUBLIC_URL is https:\/\//);
    expect(loadConfig({ PUBLIC_URL: 'https://help.example.com', CLIENT_KEY: 'a-long-random-client-key' }).clientKey).toBe('a-long-random-client-key');
    expect(loadConfig({ PUBLIC_URL: 'http://127.0.0.1:8080' }).clientKey).toBeNull();
  });

  it('checks the recordings\' key ring with the rest, hiding its value; maps the recording settings', () => {
    const leaked = 'k1:c2VjcmV0LWJ1dC10b28tc2hvcnQ=';
    let words = '';
    try {
      loadConfig({ RECORDING_KEY: leaked, RECORD_KEYSTROKES: 'sometimes' });
    } catch (err) {
      words = (err as Error).message;
    }
    expect(words).toMatch(/RECORDING_KEY: key "k1" is 20 bytes; AES-256 needs 32/);
    expect(words).toMatch(/RECORD_KEYSTROKES/);
    expect(words).not.toContain('c2VjcmV0');
    const defaults = loadConfig({}).repeater;
    expect(defaults).toMatchObject({ recordKeystrokes: false, recordingRequired: false, recordingKey: { spec: null, file: './data/keys/recording.key' } });
    expect(loadConfig({ RECORDING_ENCRYPTION: 'off', RECORDING_REQUIRED: 'on', RECORD_KEYSTROKES: 'on' }).repeater).toMatchObject({ recordingKey: null, recordingRequired: true, recordKeystrokes: true });
  });
});
