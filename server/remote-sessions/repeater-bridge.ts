// The authorizer the repeater is given (tokens redeemed in the database,
// ticket state and holder checked, viewer Origin checked, the ticket's node).
// What its events then do to tickets, remote sessions, the audit log and the
// bus: event-effects.ts, applied in order per session (session-events.ts).
// The repeater itself knows none of this.
import type { AuthorizeLeg } from '../../repeater/contract.ts';
import type { LegRequest, RecordOrder } from '../../protocol/repeater.ts';
import { connectableStatuses } from '../tickets/state-machine.ts';
import type { TicketService } from '../tickets/service.ts';
import type { TicketView } from '../../protocol/events.ts';
import type { PairingTokenService } from '../tokens/service.ts';
import { channelKey, type ParticipantState } from '../../protocol/participants.ts';

export interface OriginPolicy {
  publicUrl: string | null;
  allowedOrigins: readonly string[];
  /** Whether an address is a proxy whose X-Forwarded-Proto is believed (TRUST_PROXY). */
  trustsProxy?: (address: string) => boolean;
}

/**
 * The viewer's Origin must be the server's own — PUBLIC_URL, or else the Host
 * and scheme the leg arrived with (scheme from a trusted proxy's
 * X-Forwarded-Proto) — or allow-listed. Scheme, host and port all count.
 */
export function originAllowed(
  origin: string | null,
  request: { host: string | null; scheme?: 'http' | 'https'; forwardedProto?: string | null; remoteAddress?: string },
  policy: OriginPolicy,
): boolean {
  if (!origin) return false;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (policy.allowedOrigins.includes(parsed.origin)) return true;
  if (policy.publicUrl) return parsed.origin === policy.publicUrl;
  if (request.host === null) return false;
  const forwarded = request.forwardedProto?.split(',')[0]?.trim().toLowerCase();
  const viaTrustedProxy = forwarded && request.remoteAddress !== undefined && policy.trustsProxy?.(request.remoteAddress);
  const scheme = viaTrustedProxy && (forwarded === 'http' || forwarded === 'https') ? forwarded : (request.scheme ?? 'http');
  let expected: URL;
  try {
    expected = new URL(`${scheme}://${request.host}`);
  } catch {
    return false;
  }
  return parsed.origin === expected.origin;
}

export function createLegAuthorizer(deps: {
  tokens: PairingTokenService;
  tickets: TicketService;
  origins: OriginPolicy;
  /** With repeater nodes: the node a ticket is assigned to (a leg arriving elsewhere is refused). */
  assignedNode?: (ticketId: number) => Promise<string | null>;
  /** What a recorded ticket's file header says about the two ends. */
  recordingMeta?: (ticket: TicketView) => RecordOrder['meta'];
  /** Whether the recordings' disk is above DATA_MIN_FREE_BYTES (below it, sessions go on unrecorded; administrators see a banner). */
  recordingRoom?: () => Promise<boolean>;
  /** RECORDING_REQUIRED: a recorded ticket's session does not start without room for its recording. */
  recordingRequired?: boolean;
  /** A participant row (issue 26): whose channel a token opens, and whether the user allows them now. */
  participantOf?: (participantId: number) => Promise<{ ticketId: number; technicianId: number; state: ParticipantState } | null>;
  /** Whether the main channel is the holder's (false once the holder is a participant: promoted, handed over). */
  mainChannelOpen?: (ticket: TicketView) => Promise<boolean>;
}): AuthorizeLeg {
  return async (request: LegRequest) => {
    if (request.side === 'viewer' && !originAllowed(request.origin, request, deps.origins)) {
      return { ok: false, code: 'ORIGIN_NOT_ALLOWED', message: 'This page\'s origin may not open the viewer' };
    }
    if (request.node && deps.assignedNode) {
      // Both legs of a ticket must meet on one node: the one its tokens were minted for. Checked before the
      // token is spent, so a leg that reached the wrong node can still use it at the right one.
      const ticketId = await deps.tokens.ticketOf(request.token ?? '');
      const assigned = ticketId === null ? null : await deps.assignedNode(ticketId);
      if (assigned && assigned !== request.node) {
        return { ok: false, code: 'WRONG_NODE', message: `Ticket ${ticketId} is carried by repeater node ${assigned}, not ${request.node}; the token is still good there` };
      }
    }
    const redemption = await deps.tokens.redeem(request.token ?? '', request.side);
    if (!redemption.ok) return { ok: false, code: redemption.code, message: redemption.message };
    const ticket = await deps.tickets.get(redemption.ticketId);
    if (!connectableStatuses.includes(ticket.status)) {
      return { ok: false, code: 'TICKET_NOT_CONNECTABLE', message: `Ticket ${ticket.id} is ${ticket.status.replace('_', ' ')}; it cannot be connected now` };
    }
    // A participant's channel ("42.p7", issue 26): open while the user allows that person; a viewer only theirs.
    const participant = redemption.participantId === null ? null : await deps.participantOf?.(redemption.participantId);
    if (redemption.participantId !== null) {
      if (!participant || participant.ticketId !== ticket.id || participant.state !== 'connected') {
        return { ok: false, code: 'TICKET_NOT_CONNECTABLE', message: `The user does not allow this participant on ticket ${ticket.id} now` };
      }
      if (request.side === 'viewer' && participant.technicianId !== redemption.technicianId) {
        return { ok: false, code: 'NOT_TICKET_HOLDER', message: `This channel of ticket ${ticket.id} is another technician's` };
      }
    } else if (request.side === 'viewer' && ticket.technician?.id !== redemption.technicianId) {
      return { ok: false, code: 'NOT_TICKET_HOLDER', message: `Ticket ${ticket.id} is held by another technician` };
    } else if (deps.mainChannelOpen && !(await deps.mainChannelOpen(ticket))) {
      return { ok: false, code: 'TICKET_NOT_CONNECTABLE', message: `Ticket ${ticket.id}'s holder works on their own channel now: its main channel is closed` };
    }
    // The user was told at approval that this ticket's sessions are recorded.
    const room = ticket.recorded && deps.recordingRoom ? await deps.recordingRoom() : true;
    if (!room && deps.recordingRequired) return { ok: false, code: 'RECORDING_UNAVAILABLE', message: 'Sessions must be recorded here, and the recordings disk is below its free-space watermark: an administrator must free space first' };
    const record = ticket.recorded && room ? { meta: deps.recordingMeta?.(ticket) ?? {} } : null;
    return { ok: true, ticketId: channelKey(ticket.id, redemption.participantId), side: request.side, record };
  };
}
