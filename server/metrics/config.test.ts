// The settings of /metrics and of the audit lines for a SIEM, checked with the
// rest of the configuration: in the server and, for METRICS_*, in a repeater
// process by the same rules; a bad value named in words, the token never shown.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { RepeaterConfigError, loadRepeaterConfig } from '../../repeater/config.ts';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe('metrics and SIEM settings', () => {
  it('default: /metrics off, no syslog, no file, a queue of 10,000', () => {
    const { observability } = loadConfig({});
    expect(observability).toEqual({ metrics: { token: null, bind: null, dbCacheMs: 10_000 }, audit: { syslogUrl: null, file: null, queueMax: 10_000 } });
  });

  it('reads the token, the bind address (IPv4, IPv6, a name) and the SIEM targets', () => {
    const c = loadConfig({ METRICS_TOKEN: 'a-long-metrics-token', METRICS_BIND: '[::1]:9464', AUDIT_SYSLOG_URL: 'udp://siem.example.net:514', AUDIT_LOG_FILE: '/var/log/helpdesk/audit.jsonl', AUDIT_QUEUE_MAX: '50' });
    expect(c.observability.metrics).toMatchObject({ token: 'a-long-metrics-token', bind: { host: '::1', port: 9464 } });
    expect(c.observability.audit).toEqual({ syslogUrl: 'udp://siem.example.net:514', file: '/var/log/helpdesk/audit.jsonl', queueMax: 50 });
    expect(loadConfig({ METRICS_BIND: 'metrics.internal:9100' }).observability.metrics.bind).toEqual({ host: 'metrics.internal', port: 9100 });
  });

  it('refuses bad values in words, and never repeats the token', () => {
    const problems = problemsOf({ METRICS_TOKEN: 'short-secret', METRICS_BIND: '9464', AUDIT_SYSLOG_URL: 'http://siem:514', AUDIT_QUEUE_MAX: '5', METRICS_DB_CACHE_MS: '10' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^METRICS_TOKEN: must be at least 16 characters \(value hidden\)$/),
        expect.stringMatching(/^METRICS_BIND: must be host:port/),
        expect.stringMatching(/^AUDIT_SYSLOG_URL: must be tcp:\/\/host:port or udp:\/\/host:port/),
        expect.stringMatching(/^AUDIT_QUEUE_MAX:/),
        expect.stringMatching(/^METRICS_DB_CACHE_MS:/),
      ]),
    );
    expect(problems.join('\n')).not.toContain('short-secret');
    expect(problemsOf({ METRICS_BIND: '127.0.0.1:70000' })).toEqual([expect.stringMatching(/^METRICS_BIND: the port must be at most 65535/)]);
  });

  it('a repeater process reads METRICS_TOKEN and METRICS_BIND by the same rules', () => {
    const base = { REPEATER_SERVER_URL: 'http://127.0.0.1:8080', REPEATER_SECRET: 'repeater-secret-for-tests-0123456789abcdef' };
    expect(loadRepeaterConfig(base).metrics).toEqual({ token: null, bind: null });
    expect(loadRepeaterConfig({ ...base, METRICS_TOKEN: 'a-long-metrics-token', METRICS_BIND: '127.0.0.1:9465' }).metrics).toEqual({ token: 'a-long-metrics-token', bind: { host: '127.0.0.1', port: 9465 } });
    expect(() => loadRepeaterConfig({ ...base, METRICS_TOKEN: 'short-secret' })).toThrow(RepeaterConfigError);
    try {
      loadRepeaterConfig({ ...base, METRICS_TOKEN: 'short-secret' });
    } catch (err) {
      expect((err as RepeaterConfigError).problems).toEqual(['METRICS_TOKEN: must be at least 16 characters (value hidden)']);
    }
  });
});
