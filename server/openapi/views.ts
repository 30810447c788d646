// What the API answers, as zod schemas: the views of protocol/ (tickets,
// messages, files, participants, the desktop client's view) and the server's
// own (technicians, audit events, recordings, tokens). Used only to describe
// responses (server/openapi/); each has an `id`, so it is one named component
// of the document. The tests check every response they receive against them.
import { z } from 'zod';
import { ticketStatuses, ticketActions } from '../../protocol/tickets.ts';
import { participantStates } from '../../protocol/participants.ts';
import { apiScopes } from '../api-tokens/scopes.ts';
import { roles } from '../technicians/schema.ts';

const int = () => z.number().int();
const ms = () => z.number().int().describe('milliseconds since 1970-01-01 UTC');
const msOrNull = () => ms().nullable();
const id = () => z.number().int().positive();

export const TicketStatus = z.enum(ticketStatuses).meta({ id: 'TicketStatus' });

export const Ticket = z
  .object({
    id: id(),
    status: TicketStatus,
    requesterName: z.string(),
    username: z.string(),
    hostname: z.string(),
    os: z.string(),
    description: z.string(),
    technician: z.object({ id: id(), displayName: z.string() }).nullable(),
    viewOnly: z.boolean(),
    sharedScreen: z.string().nullable().describe('One monitor the user shares, in words; null: all screens'),
    recorded: z.boolean(),
    endReason: z.string().nullable(),
    resolution: z.string().nullable(),
    createdAt: ms(),
    updatedAt: ms(),
    acceptedAt: msOrNull(),
    approvedAt: msOrNull(),
    startedAt: msOrNull(),
    endedAt: msOrNull(),
    resolvedAt: msOrNull(),
    routing: z
      .object({
        topic: z.object({ id: id(), names: z.object({ en: z.string(), es: z.string(), zh: z.string() }) }).nullable(),
        team: z.object({ id: id(), name: z.string() }).nullable().describe('The team whose queue holds it; null: everyone’s queue'),
        waitTargetMs: int().nullable(),
        waitDueAt: msOrNull(),
        waitingTooLongAt: msOrNull().describe('When it was found waiting past its target (once)'),
      })
      .optional()
      .describe('Its topic, team and wait target (issue 29)'),
  })
  .meta({ id: 'Ticket', description: 'A ticket as the technicians see it' });

export const DesktopState = z.enum(['waiting', 'paired']).nullable().describe("The desktop leg at the repeater now: waiting, paired, or null (not connected)");

export const ChatMessage = z
  .object({ id: id(), from: z.enum(['user', 'technician']), authorName: z.string(), text: z.string().describe('Plain text: show it as text'), at: ms() })
  .meta({ id: 'ChatMessage' });

export const TicketFile = z
  .object({
    id: z.string(),
    direction: z.enum(['to_user', 'to_technician']),
    senderName: z.string(),
    name: z.string(),
    size: int().nonnegative(),
    sha256: z.string(),
    state: z.enum(['offered', 'accepted', 'refused', 'available', 'purged']),
    at: ms(),
  })
  .meta({ id: 'TicketFile' });

export const ParticipantMode = z.enum(['control', 'view']).meta({ id: 'ParticipantMode' });
export const ParticipantState = z.enum(participantStates as [string, ...string[]]).meta({ id: 'ParticipantState' });

export const Participant = z
  .object({
    id: id().nullable().describe('The participant row (the invitation id); null for a holder without one'),
    technicianId: id(),
    displayName: z.string(),
    mode: ParticipantMode,
    state: ParticipantState,
    kind: z.enum(['invite', 'transfer', 'supervise', 'holder']),
    holder: z.boolean(),
    invitedBy: z.object({ id: id(), displayName: z.string() }).nullable(),
    note: z.string().nullable(),
    controlRequested: z.boolean(),
    createdAt: ms(),
    connectedAt: msOrNull(),
    endedAt: msOrNull(),
  })
  .meta({ id: 'Participant', description: 'One technician taking part in a ticket’s session' });

export const DesktopParticipant = z
  .object({
    technicianId: id(),
    displayName: z.string(),
    mode: ParticipantMode,
    state: ParticipantState,
    kind: z.enum(['invite', 'transfer', 'supervise']),
    invitedBy: z.string().nullable(),
    channel: z.string().describe('The repeater key of this participant’s channel ("42.p7")'),
    controlRequested: z.boolean(),
  })
  .meta({ id: 'DesktopParticipant' });

export const HelpRequest = z
  .object({
    id: id(),
    status: TicketStatus,
    technician: z.object({ displayName: z.string() }).nullable(),
    viewOnly: z.boolean(),
    recorded: z.boolean(),
    endReason: z.string().nullable(),
    createdAt: ms(),
    updatedAt: ms(),
    participants: z.array(DesktopParticipant),
    mainChannel: z.boolean(),
  })
  .meta({ id: 'HelpRequest', description: 'The desktop client’s view of its own ticket' });

export const Role = z.enum(roles).meta({ id: 'Role' });

export const Technician = z
  .object({
    id: id(),
    username: z.string(),
    displayName: z.string(),
    email: z.string(),
    role: Role,
    active: z.boolean(),
    lastLoginAt: msOrNull(),
    createdAt: ms(),
    twoFactor: z.object({ enabled: z.boolean(), required: z.boolean() }),
    language: z.string().nullable(),
    timeZone: z.string().nullable().describe('The IANA time zone the account’s pages show times in; null: the browser’s'),
    source: z.enum(['local', 'oidc', 'ldap']),
    provider: z.string().nullable(),
    lastLoginMethod: z.enum(['local', 'oidc', 'ldap']).nullable(),
  })
  .meta({ id: 'Technician' });

export const AuditEvent = z
  .object({
    id: id(),
    at: ms(),
    actorType: z.string(),
    actorId: int().nullable(),
    actorName: z.string(),
    action: z.string(),
    ticketId: int().nullable(),
    technicianId: int().nullable(),
    remoteAddress: z.string(),
    detail: z.record(z.string(), z.unknown()).nullable(),
    viaToken: z.object({ id: id(), name: z.string() }).nullable(),
  })
  .meta({ id: 'AuditEvent' });

export const RecordingState = z.enum(['recording', 'complete', 'incomplete', 'dropped', 'failed', 'purged']).meta({ id: 'RecordingState' });

export const Recording = z
  .object({
    id: z.uuid(),
    ticketId: id(),
    remoteSessionId: int().nullable(),
    participantId: int().nullable(),
    technicianId: int().nullable(),
    node: z.string().nullable(),
    startedAt: ms(),
    endedAt: msOrNull(),
    durationMs: int().nullable(),
    bytes: int().nullable(),
    sha256: z.string().nullable(),
    state: RecordingState,
    problem: z.string().nullable(),
    purgedAt: msOrNull(),
    purgeReason: z.string().nullable(),
  })
  .meta({ id: 'Recording' });

export const RecordingSummary = z
  .object({
    id: z.uuid(),
    technicianId: int().nullable(),
    technicianName: z.string().nullable(),
    participantId: int().nullable(),
    startedAt: ms(),
    endedAt: msOrNull(),
    durationMs: int().nullable(),
    bytes: int().nullable(),
    state: RecordingState,
  })
  .meta({ id: 'RecordingSummary' });

export const RemoteSession = z
  .object({
    id: id(),
    ticketId: id(),
    participantId: int().nullable(),
    technicianId: int().nullable(),
    startedAt: ms(),
    endedAt: msOrNull(),
    durationMs: int().nullable(),
    bytesDesktopToViewer: int().nonnegative(),
    bytesViewerToDesktop: int().nonnegative(),
    endReason: z.string().nullable(),
    endedBy: z.string().nullable(),
  })
  .meta({ id: 'RemoteSession' });

export const ApiScope = z.enum(apiScopes).meta({ id: 'ApiScope' });

export const ApiToken = z
  .object({ id: id(), name: z.string(), scopes: z.array(ApiScope), createdAt: ms(), expiresAt: ms(), lastUsedAt: msOrNull(), revokedAt: msOrNull() })
  .meta({ id: 'ApiToken', description: 'An API token as listed (never its secret)' });

export const LegUrl = z.object({ url: z.string().describe('The websocket URL of the leg, with its single-use token'), expiresAt: ms() });

export { ticketActions };
