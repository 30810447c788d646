// The viewer leg's Origin check, case by case.
import { describe, expect, it } from 'vitest';
import { originAllowed } from './repeater-bridge.ts';

const none = { publicUrl: null, allowedOrigins: [] };

describe('originAllowed', () => {
  it('with PUBLIC_URL, only that origin (scheme, host and port) opens the viewer', () => {
    const policy = { publicUrl: 'https://help.example.com', allowedOrigins: [] };
    expect(originAllowed('https://help.example.com', { host: 'internal:3000' }, policy)).toBe(true);
    expect(originAllowed('http://help.example.com', { host: 'internal:3000' }, policy)).toBe(false);
    expect(originAllowed('https://help.example.com:8443', { host: 'internal:3000' }, policy)).toBe(false);
    expect(originAllowed('https://evil.example.com', { host: 'help.example.com' }, policy)).toBe(false);
  });

  it('without it, the Host and scheme the leg arrived with', () => {
    expect(originAllowed('http://127.0.0.1:3000', { host: '127.0.0.1:3000', scheme: 'http' }, none)).toBe(true);
    expect(originAllowed('http://127.0.0.1:3001', { host: '127.0.0.1:3000', scheme: 'http' }, none)).toBe(false);
    expect(originAllowed('https://127.0.0.1:3000', { host: '127.0.0.1:3000', scheme: 'http' }, none)).toBe(false);
    expect(originAllowed('http://127.0.0.1:3000', { host: null }, none)).toBe(false);
  });

  it('believes X-Forwarded-Proto only from a trusted proxy', () => {
    const request = { host: 'help.example.com', scheme: 'http' as const, forwardedProto: 'https', remoteAddress: '10.0.0.5' };
    expect(originAllowed('https://help.example.com', request, { ...none, trustsProxy: (a) => a === '10.0.0.5' })).toBe(true);
    expect(originAllowed('https://help.example.com', request, { ...none, trustsProxy: () => false })).toBe(false);
    expect(originAllowed('https://help.example.com', request, none)).toBe(false);
  });

  it('an allow-listed origin passes; a missing or malformed one never does', () => {
    const policy = { publicUrl: 'https://help.example.com', allowedOrigins: ['https://console.example.com'] };
    expect(originAllowed('https://console.example.com', { host: 'x' }, policy)).toBe(true);
    expect(originAllowed(null, { host: 'help.example.com' }, policy)).toBe(false);
    expect(originAllowed('not a url', { host: 'help.example.com' }, policy)).toBe(false);
    expect(originAllowed('null', { host: 'help.example.com' }, policy)).toBe(false);
  });
});
