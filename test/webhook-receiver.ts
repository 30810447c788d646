// A real webhook receiver for tests: node:http on loopback. It verifies each
// request with the Standard Webhooks reference library (standardwebhooks),
// keeps every attempt, and keeps each message once by its webhook-id (a
// repeat is counted, not kept again). `answer` decides each reply.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  /** Whether the signature verified with the endpoint's secret. */
  verified: boolean;
  /** Attempts that carried this id. */
  attempts: number;
}

export interface WebhookReceiver {
  url: string;
  /** The endpoint's secret, once registered (signatures are verified with it). */
  secret: string | null;
  /** Every request, in arrival order (repeats too). */
  attempts: { id: string; status: number; body: string }[];
  /** Each message once, in the order first accepted (2xx). */
  messages: Received[];
  /** How to answer a request (default 200); `hold` keeps the request open until the receiver closes. */
  answer: (req: { id: string; type: string; n: number }) => number | 'hold' | { status: number; headers: Record<string, string> };
  /** Each answer waits this long (requests overlapping meanwhile are counted in maxInFlight). */
  delayMs: number;
  /** The most requests open at once so far. */
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const held: ServerResponse[] = [];
  const receiver: WebhookReceiver = {
    url: '',
    secret: null,
    attempts: [],
    messages: [],
    answer: () => 200,
    delayMs: 0,
    maxInFlight: 0,
    close: async () => {
      for (const res of held) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  let inFlight = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight += 1;
    receiver.maxInFlight = Math.max(receiver.maxInFlight, inFlight);
    res.on('close', () => void (inFlight -= 1));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void setTimeout(reply, receiver.delayMs));
    const reply = (): void => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      let parsed: { type: string; data: Record<string, unknown> } = { type: '', data: {} };
      let verified = false;
      try {
        parsed = JSON.parse(body) as typeof parsed;
        if (receiver.secret) {
          new Webhook(receiver.secret).verify(body, req.headers as Record<string, string>);
          verified = true;
        }
      } catch {
        verified = false;
      }
      const n = receiver.attempts.filter((a) => a.id === id).length + 1;
      const answer = receiver.answer({ id, type: parsed.type, n });
      if (answer === 'hold') {
        receiver.attempts.push({ id, status: 0, body });
        held.push(res);
        return;
      }
      const status = typeof answer === 'number' ? answer : answer.status;
      receiver.attempts.push({ id, status, body });
      if (status >= 200 && status < 300) {
        const known = receiver.messages.find((m) => m.id === id);
        if (known) known.attempts += 1;
        else receiver.messages.push({ id, type: parsed.type, data: parsed.data, verified, attempts: 1 });
      }
      res.writeHead(status, typeof answer === 'number' ? {} : answer.headers);
      res.end('ok');
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
