// LDAP over TLS against a real slapd with a self-signed certificate: ldaps://
// and StartTLS sign in when LDAP_CA_FILE names the certificate's CA, and a
// directory whose certificate is not trusted is refused in words (never a
// sign-in over an unverified connection).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startHarness, type Harness } from '../../test/server-harness.ts';
import { startSlapd, type Slapd } from '../../test/slapd.ts';

let slapd: Slapd;
const harnesses: Harness[] = [];

beforeAll(async () => {
  slapd = await startSlapd([{ uid: 'tess', cn: 'Tess Tls', password: 'tess-directory-pw', groups: ['technicians'] }], { tls: true });
}, 30_000);
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
  await slapd?.stop();
  slapd?.remove();
});

async function signIn(env: Record<string, string>) {
  const h = await startHarness('sqlite', { ...slapd.env, LDAP_TIMEOUT_MS: '3000', ...env });
  harnesses.push(h);
  const agent = request.agent(h.server.url);
  const probe = await agent.get('/auth/session').expect(200);
  return agent.post('/auth/login').set('x-csrf-token', probe.body.csrfToken).send({ username: 'tess', password: 'tess-directory-pw' });
}

describe('LDAP over TLS', () => {
  it('ldaps:// with LDAP_CA_FILE signs in', async () => {
    const res = await signIn({ LDAP_URL: slapd.ldapsUrl!, LDAP_CA_FILE: slapd.caFile! });
    expect(res.status).toBe(200);
    expect(res.body.technician).toMatchObject({ username: 'tess', source: 'ldap', role: 'technician' });
  });

  it('StartTLS on ldap:// with LDAP_CA_FILE signs in', async () => {
    const res = await signIn({ LDAP_STARTTLS: 'on', LDAP_CA_FILE: slapd.caFile! });
    expect(res.body.error?.message).toBeUndefined();
    expect(res.status).toBe(200);
  });

  it('a certificate the server does not trust is refused in words', async () => {
    const res = await signIn({ LDAP_URL: slapd.ldapsUrl! });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('SSO_UNAVAILABLE');
    expect(res.body.error.message).toMatch(/certificate/i);
  });
});
