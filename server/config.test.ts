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
});
