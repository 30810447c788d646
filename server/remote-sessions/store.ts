// Remote sessions: one row per pairing of a desktop leg with a viewer leg,
// written when the pair forms (live: no end yet), its byte counts kept current
// while it runs, closed when it ends — so a crash leaves a row to reconcile.
import type { Knex } from 'knex';

export interface RemoteSession {
  id: number;
  ticketId: number;
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

export const remoteSessionStore = {
  /** A session began: its live row. */
  async start(db: Knex, s: { ticketId: number; technicianId: number | null; startedAt: number; node?: string | null; sessionUid?: string | null }): Promise<number> {
    const [id] = await db('remote_sessions').insert({
      node: s.node ?? null,
      session_uid: s.sessionUid ?? null,
      ticket_id: s.ticketId,
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

  /** The live row of a ticket's session, if any (the newest). */
  async live(db: Knex, ticketId: number): Promise<{ id: number; startedAt: number } | null> {
    const row = (await db('remote_sessions').where({ ticket_id: ticketId }).whereNull('ended_at').orderBy('id', 'desc').first()) as
      | { id: number; started_at: number }
      | undefined;
    return row ? { id: Number(row.id), startedAt: Number(row.started_at) } : null;
  },

  async progress(db: Knex, ticketId: number, bytes: { desktopToViewer: number; viewerToDesktop: number }, at: number): Promise<void> {
    await db('remote_sessions')
      .where({ ticket_id: ticketId })
      .whereNull('ended_at')
      .update({ bytes_desktop_to_viewer: bytes.desktopToViewer, bytes_viewer_to_desktop: bytes.viewerToDesktop, updated_at: at });
  },

  /**
   * Closes the ticket's live row, or writes a whole one when none is live (a
   * session that began before this server started) unless `onlyLive`. Says
   * whether a row was written.
   */
  async end(db: Knex, ticketId: number, technicianId: number | null, startedAt: number, end: SessionEnd, onlyLive = false): Promise<boolean> {
    const patch = {
      ended_at: end.endedAt,
      duration_ms: end.durationMs,
      bytes_desktop_to_viewer: end.bytesDesktopToViewer,
      bytes_viewer_to_desktop: end.bytesViewerToDesktop,
      end_reason: end.endReason,
      ended_by: end.endedBy,
      updated_at: end.endedAt,
    };
    const live = await remoteSessionStore.live(db, ticketId);
    if (live) {
      await db('remote_sessions').where({ id: live.id }).update(patch);
      return true;
    }
    if (onlyLive) return false;
    await db('remote_sessions').insert({ ticket_id: ticketId, technician_id: technicianId, started_at: startedAt, ...patch });
    return true;
  },

  /** Live sessions on registered nodes not heard from since `seenBefore`. */
  async onLostNodes(db: Knex, seenBefore: number): Promise<{ ticketId: number; technicianId: number | null; startedAt: number; node: string; bytesDesktopToViewer: number; bytesViewerToDesktop: number; updatedAt: number }[]> {
    // Only registered nodes (with REPEATER_NODE_URL): a lone repeater process is watched by its link instead.
    const rows = (await db('remote_sessions as s')
      .join('repeater_nodes as n', 'n.name', 's.node')
      .whereNull('s.ended_at')
      .where('n.last_seen_at', '<', seenBefore)
      .select('s.ticket_id', 's.technician_id', 's.started_at', 's.node', 's.bytes_desktop_to_viewer', 's.bytes_viewer_to_desktop', 's.updated_at')) as Record<string, unknown>[];
    return rows.map((r) => ({
      ticketId: Number(r.ticket_id),
      technicianId: r.technician_id === null ? null : Number(r.technician_id),
      startedAt: Number(r.started_at),
      node: String(r.node),
      bytesDesktopToViewer: Number(r.bytes_desktop_to_viewer),
      bytesViewerToDesktop: Number(r.bytes_viewer_to_desktop),
      updatedAt: Number(r.updated_at ?? r.started_at),
    }));
  },

  /** Rows still live (after a crash: nobody will end them). */
  async allLive(db: Knex): Promise<{ id: number; ticketId: number; technicianId: number | null; startedAt: number; updatedAt: number; bytesDesktopToViewer: number; bytesViewerToDesktop: number; onRegisteredNode: boolean }[]> {
    const rows = (await db('remote_sessions as s')
      .leftJoin('repeater_nodes as n', 'n.name', 's.node')
      .whereNull('s.ended_at')
      .orderBy('s.id')
      .select('s.*', 'n.name as registered_node')) as Record<string, unknown>[];
    return rows.map((r) => ({
      onRegisteredNode: r.registered_node != null,
      id: Number(r.id),
      ticketId: Number(r.ticket_id),
      technicianId: r.technician_id === null ? null : Number(r.technician_id),
      startedAt: Number(r.started_at),
      updatedAt: Number(r.updated_at ?? r.started_at),
      bytesDesktopToViewer: Number(r.bytes_desktop_to_viewer),
      bytesViewerToDesktop: Number(r.bytes_viewer_to_desktop),
    }));
  },

  async forTicket(db: Knex, ticketId: number): Promise<RemoteSession[]> {
    const rows = await db('remote_sessions').where({ ticket_id: ticketId }).orderBy('id');
    return rows.map((r: Record<string, unknown>) => ({
      id: Number(r.id),
      ticketId: Number(r.ticket_id),
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
};
