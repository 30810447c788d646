// validate(): the edge parses once, names what is wrong, and hands typed input on.
import express from 'express';
import request from 'supertest';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { errorMiddleware } from '../errors.ts';
import { validate } from './validate.ts';
import { pino } from 'pino';

const edit = validate({
  params: z.object({ id: z.coerce.number().int().positive() }).describe('item id'),
  query: z.object({ dryRun: z.enum(['yes', 'no']).default('no') }),
  body: z.object({ name: z.string().trim().min(1, 'is required') }).describe('item'),
});

function app() {
  const a = express();
  a.use(express.json());
  a.post('/items/:id', edit, (req, res) => {
    const input = edit.input(req);
    res.json({ id: input.params.id, idType: typeof input.params.id, dryRun: input.query.dryRun, name: input.body.name });
  });
  // A handler that reads a validator's input without it guarding the route is a programming error.
  a.post('/unguarded', (req, res) => {
    res.json(edit.input(req));
  });
  a.use(errorMiddleware(pino({ level: 'silent' }), { languageOf: () => 'en', render: (_req, res, status, message) => void res.status(status).send(message) }));
  return a;
}

describe('validate()', () => {
  it('puts typed, parsed input on the request', async () => {
    const res = await request(app()).post('/items/12').set('accept', 'application/json').send({ name: '  Lamp ' }).expect(200);
    expect(res.body).toEqual({ id: 12, idType: 'number', dryRun: 'no', name: 'Lamp' });
  });

  it('refuses bad input before the handler, naming the part and the field', async () => {
    const badId = await request(app()).post('/items/x').send({ name: 'Lamp' }).expect(400);
    expect(badId.body.error.code).toBe('VALIDATION_FAILED');
    expect(badId.body.error.message).toMatch(/^Invalid item id: id: /);
    const badBody = await request(app()).post('/items/3').send({ name: ' ' }).expect(400);
    expect(badBody.body.error.details.fields).toEqual([{ field: 'name', message: 'is required' }]);
    const badQuery = await request(app()).post('/items/3?dryRun=maybe').send({ name: 'x' }).expect(400);
    expect(badQuery.body.error.message).toMatch(/^Invalid query: dryRun/);
  });

  it('input(req) on a route it does not guard is a server error, not silent undefined', async () => {
    const res = await request(app()).post('/unguarded').send({}).expect(500);
    expect(res.body.error.code).toBe('INTERNAL');
  });
});
