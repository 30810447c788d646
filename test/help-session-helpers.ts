// Shared pieces of the tests that drive the desktop core (HelpSession) against
// a server: waiting for a state, and a technician's viewer as a plain
// websocket client that reads x11vnc's RFB greeting.
import { WebSocket } from 'ws';
import type { HelpSession, FlowSnapshot, FlowState } from '../desktop-client/core/help-session.ts';
import type { Tech } from './server-harness.ts';

/** Resolves when the session is (or gets) in `state`; rejects with where it is after `timeoutMs`. */
export function reach(session: HelpSession, state: FlowState, timeoutMs = 30_000): Promise<FlowSnapshot> {
  if (session.snapshot.state === state) return Promise.resolve(session.snapshot);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never reached ${state}; at ${JSON.stringify(session.snapshot)}`)), timeoutMs);
    const onState = (s: FlowSnapshot): void => {
      if (s.state !== state) return;
      clearTimeout(timer);
      session.off('state', onState);
      resolve(s);
    };
    session.on('state', onState);
  });
}

export interface TestViewer {
  ws: WebSocket;
  url: string;
  greeting: Promise<string>;
  closed: Promise<number>;
}

/** Mints a viewer token as `tech` and connects with the server's Origin. */
export async function openViewer(tech: Tech, serverUrl: string, ticketId: number): Promise<TestViewer> {
  const { body } = await tech.post(`/api/v1/tickets/${ticketId}/viewer-token`).expect(201);
  const ws = new WebSocket(body.url, { origin: serverUrl });
  const greeting = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, url: body.url as string, greeting, closed };
}
