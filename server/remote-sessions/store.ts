// Remote sessions: one row per pairing of a desktop leg with a viewer leg,
// found by the repeater's session id (unique), written when the pair forms
// (live: no end yet), its byte counts kept current while it runs, closed once
// when it ends — so a crash leaves a row to reconcile. The legs still waiting
// for their peer have rows too (remote_legs), so every server answers
// "desktop connected" the same.
import type { Knex } from 'knex';
import type { LegSide } from '../../protocol/repeater.ts';

export interface RemoteSession {
  id: number;
  ticketId: number;
  /** The participant whose channel it was (issue 26); null: the holder's main channel. */
  participantId: number | null;
  technicianId: number | null;
  startedAt: number;
  /** Null while the session is live. */
  endedAt: number | null;
  durationMs: number | null;
  bytesDesktopToViewer: number;
  bytesViewerToDesktop: number;
  /** Null while the session is live. */
  endReason: string | null;
  endedBy: string | null;
}

export interface SessionEnd {
  endedAt: number;
  durationMs: number;
  bytesDesktopToViewer: number;
  bytesViewerToDesktop: number;
  endReason: string;
  endedBy: string | null;
}

/** A live row nobody will end as it should (its node was lost, its server restarted). */
export interface OrphanSession {
  id: number;
  sessionUid: string | null;
  ticketId: number;
  /** The participant whose channel it was (issue 26); null: the main channel. */
  participantId: number | null;
  technicianId: number | null;
  startedAt: number;
  updatedAt: number;
  node: string | null;
  instance: string | null;
  bytesDesktopToViewer: number;
  bytesViewerToDesktop: number;
}

/** Where the session's repeater runs: a node (its name and process), or the embedded repeater (node null). */
export interface Runner {
  node: string | null;
  instance: string | null;
}

const endPatch = (end: SessionEnd) => ({
  ended_at: end.endedAt,
  duration_ms: end.durationMs,
  bytes_desktop_to_viewer: end.bytesDesktopToViewer,
  bytes_viewer_to_desktop: end.bytesViewerToDesktop,
  end_reason: end.endReason,
  ended_by: end.endedBy,
  updated_at: end.endedAt,
});

const orphan = (r: Record<string, unknown>): OrphanSession => ({
  id: Number(r.id),
  sessionUid: (r.session_uid as string | null) ?? null,
  ticketId: Number(r.ticket_id),
  participantId: r.participant_id === null || r.participant_id === undefined ? null : Number(r.participant_id),
  technicianId: r.technician_id === null ? null : Number(r.technician_id),
  startedAt: Number(r.started_at),
  updatedAt: Number(r.updated_at ?? r.started_at),
  node: (r.node as string | null) ?? null,
  instance: (r.instance as string | null) ?? null,
  bytesDesktopToViewer: Number(r.bytes_desktop_to_viewer),
  bytesViewerToDesktop: Number(r.bytes_viewer_to_desktop),
});

/**
 * Live rows (sessions) and waiting legs whose node's process is not the
 * holder of the node's name with a running lease: a node that was lost, or
 * started again as another process (`rows` of either table, aliased `s`).
 */
function onLostRunners(db: Knex, table: 'remote_sessions' | 'remote_legs', now: number): Knex.QueryBuilder {
  return db(`${table} as s`)
    .leftJoin('repeater_claims as c', 'c.node', 's.node')
    .whereNotNull('s.node')
    .where((q) => void q.whereNull('c.node').orWhere('c.lease_until', '<', now).orWhere((i) => void i.whereNotNull('s.instance').whereRaw('c.instance <> s.instance')));
}

/**
 * Rows (sessions, legs) of embedded repeaters nobody runs now: their server's
 * claim (`server:…`, found by its instance) is gone — taken by the server's
 * next life under the same name — or its lease ran out.
 */
function onGoneServers(db: Knex, table: 'remote_sessions' | 'remote_legs', now: number): Knex.QueryBuilder {
  return db(`${table} as s`)
    .leftJoin('repeater_claims as c', (j) => void j.on('c.instance', '=', 's.instance').andOnVal('c.node', 'like', 'server:%'))
    .whereNull('s.node')
    .where((q) => void q.whereNull('c.node').orWhere('c.lease_until', '<', now));
}

export const remoteSessionStore = {
  /** The row of a remote session, by the repeater's id for it. */
  async bySession(db: Knex, sessionUid: string): Promise<{ id: number; live: boolean } | null> {
    const row = (await db('remote_sessions').where({ session_uid: sessionUid }).first('id', 'ended_at')) as { id: number; ended_at: number | null } | undefined;
    return row ? { id: Number(row.id), live: row.ended_at === null } : null;
  },

  /** A session began: its live row. */
  async start(db: Knex, s: { ticketId: number; participantId?: number | null; technicianId: number | null; startedAt: number; sessionUid: string } & Runner): Promise<number> {
    const [id] = await db('remote_sessions').insert({
      node: s.node,
      instance: s.instance,
      session_uid: s.sessionUid,
      ticket_id: s.ticketId,
      participant_id: s.participantId ?? null,
      technician_id: s.technicianId,
      started_at: s.startedAt,
      ended_at: null,
      duration_ms: null,
      bytes_desktop_to_viewer: 0,
      bytes_viewer_to_desktop: 0,
      end_reason: null,
      ended_by: null,
      updated_at: s.startedAt,
    });
    return Number(id);
  },

  /** A session that ended before its start was heard (or its start was refused): one whole, closed row. */
  async insertEnded(db: Knex, s: { ticketId: number; participantId?: number | null; technicianId: number | null; startedAt: number; sessionUid: string } & Runner, end: SessionEnd): Promise<void> {
    await db('remote_sessions').insert({ node: s.node, instance: s.instance, session_uid: s.sessionUid, ticket_id: s.ticketId, participant_id: s.participantId ?? null, technician_id: s.technicianId, started_at: s.startedAt, ...endPatch(end) });
  },

  async progress(db: Knex, sessionUid: string, bytes: { desktopToViewer: number; viewerToDesktop: number }, at: number): Promise<void> {
    await db('remote_sessions')
      .where({ session_uid: sessionUid })
      .whereNull('ended_at')
      .update({ bytes_desktop_to_viewer: bytes.desktopToViewer, bytes_viewer_to_desktop: bytes.viewerToDesktop, updated_at: at });
  },

  /** Closes a live row; false when it was closed already (its end is written once). */
  async close(db: Knex, id: number, end: SessionEnd): Promise<boolean> {
    return (await db('remote_sessions').where({ id }).whereNull('ended_at').update(endPatch(end))) === 1;
  },

  /** Live rows of nodes whose process is gone (see onLostRunners). */
  async onLostNodes(db: Knex, now: number): Promise<OrphanSession[]> {
    const rows = (await onLostRunners(db, 'remote_sessions', now).whereNull('s.ended_at').orderBy('s.id').select('s.*')) as Record<string, unknown>[];
    return rows.map(orphan);
  },

  /** Live rows of embedded repeaters nobody runs now (see onGoneServers): nobody will end them. */
  async embeddedLive(db: Knex, now: number): Promise<OrphanSession[]> {
    const rows = (await onGoneServers(db, 'remote_sessions', now).whereNull('s.ended_at').orderBy('s.id').select('s.*')) as Record<string, unknown>[];
    return rows.map(orphan);
  },

  async forTicket(db: Knex, ticketId: number): Promise<RemoteSession[]> {
    const rows = await db('remote_sessions').where({ ticket_id: ticketId }).orderBy('id');
    return rows.map((r: Record<string, unknown>) => ({
      id: Number(r.id),
      ticketId: Number(r.ticket_id),
      participantId: r.participant_id === null || r.participant_id === undefined ? null : Number(r.participant_id),
      technicianId: r.technician_id === null ? null : Number(r.technician_id),
      startedAt: Number(r.started_at),
      endedAt: r.ended_at === null ? null : Number(r.ended_at),
      durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
      bytesDesktopToViewer: Number(r.bytes_desktop_to_viewer),
      bytesViewerToDesktop: Number(r.bytes_viewer_to_desktop),
      endReason: r.end_reason === null ? null : (r.end_reason as string),
      endedBy: r.ended_by === null ? null : (r.ended_by as string),
    }));
  },

  /** Each ticket's leg of one side on one channel (the main one by default), as every server sees it: paired (a live session), waiting, or absent. */
  async legStates(db: Knex, ticketIds: readonly number[], side: LegSide, participantId: number | null = null): Promise<Map<number, 'waiting' | 'paired'>> {
    const states = new Map<number, 'waiting' | 'paired'>();
    if (ticketIds.length === 0) return states;
    const channel = (q: Knex.QueryBuilder) => (participantId === null ? q.whereNull('participant_id') : q.where({ participant_id: participantId }));
    const waiting = (await channel(db('remote_legs').whereIn('ticket_id', ticketIds).where({ side })).distinct('ticket_id')) as { ticket_id: number }[];
    for (const w of waiting) states.set(Number(w.ticket_id), 'waiting');
    const paired = (await channel(db('remote_sessions').whereIn('ticket_id', ticketIds).whereNull('ended_at')).distinct('ticket_id')) as { ticket_id: number }[];
    for (const p of paired) states.set(Number(p.ticket_id), 'paired');
    return states;
  },
};

export interface WaitingLeg {
  sessionUid: string;
  side: LegSide;
  ticketId: number;
  participantId?: number | null;
  since: number;
}

export const remoteLegStore = {
  async waiting(db: Knex, leg: WaitingLeg & Runner): Promise<void> {
    await db('remote_legs')
      .insert({ session_uid: leg.sessionUid, side: leg.side, ticket_id: leg.ticketId, participant_id: leg.participantId ?? null, node: leg.node, instance: leg.instance, since: leg.since })
      .onConflict(['session_uid', 'side'])
      .ignore();
  },

  /** A leg gone (closed, or paired: `side` undefined takes both); says how many rows went. */
  async gone(db: Knex, sessionUid: string, side?: LegSide): Promise<number> {
    return db('remote_legs').where({ session_uid: sessionUid, ...(side ? { side } : {}) }).delete();
  },

  /** Waiting legs of nodes whose process is gone (see onLostRunners). */
  async onLostNodes(db: Knex, now: number): Promise<(WaitingLeg & Runner)[]> {
    const rows = (await onLostRunners(db, 'remote_legs', now).select('s.*')) as Record<string, unknown>[];
    return rows.map((r) => ({ sessionUid: String(r.session_uid), side: r.side as LegSide, ticketId: Number(r.ticket_id), participantId: r.participant_id === null || r.participant_id === undefined ? null : Number(r.participant_id), since: Number(r.since), node: String(r.node), instance: (r.instance as string | null) ?? null }));
  },

  /** The waiting legs of embedded repeaters nobody runs now went with their process. */
  async clearEmbedded(db: Knex, now: number): Promise<number> {
    const gone = (await onGoneServers(db, 'remote_legs', now).select('s.session_uid', 's.side')) as { session_uid: string; side: LegSide }[];
    let n = 0;
    for (const leg of gone) n += await db('remote_legs').where({ session_uid: leg.session_uid, side: leg.side }).whereNull('node').delete();
    return n;
  },
};
