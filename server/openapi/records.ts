// Recordings (server/recordings/routes.ts), the audit log (server/audit/routes.ts),
// the technicians' live stream (server/events/routes.ts) and this description.
import { z } from 'zod';
import { events, file, type RouteDoc } from './describe.ts';
import { AuditEvent, Recording } from './views.ts';

const recordingErrors = ['RECORDING_NOT_FOUND', 'FORBIDDEN'] as const;

export const recordDocs: RouteDoc[] = [
  { method: 'get', path: '/recordings/{id}', id: 'getRecording', summary: 'A recording’s metadata', responses: { 200: z.object({ recording: Recording }) }, errors: recordingErrors },
  {
    method: 'get',
    path: '/recordings/{id}/file',
    id: 'getRecordingFile',
    summary: 'A recording’s file, whole or one byte range (Range)',
    description: 'Every file served is an audit event (`purpose=playback` from the player, a download otherwise). Its SHA-256 in X-Recording-SHA256.',
    headers: { range: z.string().optional() },
    responses: { 200: file('The whole file'), 206: file('The range asked for') },
    errors: [...recordingErrors, 'RECORDING_PURGED', 'RECORDING_FILE_MISSING', 'RECORDING_IN_PROGRESS', 'RECORDING_KEY_MISSING', 'RANGE_NOT_SATISFIABLE'],
  },
  {
    method: 'get',
    path: '/audit',
    id: 'listAuditEvents',
    summary: 'The audit log, newest first, paged by id (administrators)',
    responses: { 200: z.object({ events: z.array(AuditEvent), nextBeforeId: z.number().int().nullable().describe('`beforeId` of the next page; null at the end') }) },
  },
  {
    method: 'get',
    path: '/events',
    id: 'staffEvents',
    summary: 'The technicians’ live stream (Server-Sent Events)',
    description: 'First `snapshot` (the queue and my tickets), then `ticket`, `desktop`, `session`, `message`, `file`, `participant`; resumes after `Last-Event-ID` (or says `reset`).',
    headers: { 'last-event-id': z.string().optional() },
    responses: { 200: events('The stream (text/event-stream)') },
    errors: ['TOO_MANY_STREAMS'],
  },
];

export const describeDocs: RouteDoc[] = [
  { method: 'get', path: '/openapi.json', id: 'getOpenApiJson', summary: 'This description (OpenAPI 3.1, JSON)', responses: { 200: z.object({ openapi: z.string() }).loose() } },
  { method: 'get', path: '/openapi.yaml', id: 'getOpenApiYaml', summary: 'This description (OpenAPI 3.1, YAML)', responses: { 200: file('The document as YAML (application/yaml)') } },
];
