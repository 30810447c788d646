// Remote sessions: one row per pairing of a desktop leg with a viewer leg.
import type { Knex } from 'knex';

export interface RemoteSession {
  id: number;
  ticketId: number;
  technicianId: number | null;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  bytesDesktopToViewer: number;
  bytesViewerToDesktop: number;
  endReason: string;
  endedBy: string | null;
}

export const remoteSessionStore = {
  async insert(db: Knex, s: Omit<RemoteSession, 'id'>): Promise<void> {
    await db('remote_sessions').insert({
      ticket_id: s.ticketId,
      technician_id: s.technicianId,
      started_at: s.startedAt,
      ended_at: s.endedAt,
      duration_ms: s.durationMs,
      bytes_desktop_to_viewer: s.bytesDesktopToViewer,
      bytes_viewer_to_desktop: s.bytesViewerToDesktop,
      end_reason: s.endReason,
      ended_by: s.endedBy,
    });
  },

  async forTicket(db: Knex, ticketId: number): Promise<RemoteSession[]> {
    const rows = await db('remote_sessions').where({ ticket_id: ticketId }).orderBy('id');
    return rows.map((r: Record<string, unknown>) => ({
      id: Number(r.id),
      ticketId: Number(r.ticket_id),
      technicianId: r.technician_id === null ? null : Number(r.technician_id),
      startedAt: Number(r.started_at),
      endedAt: Number(r.ended_at),
      durationMs: Number(r.duration_ms),
      bytesDesktopToViewer: Number(r.bytes_desktop_to_viewer),
      bytesViewerToDesktop: Number(r.bytes_viewer_to_desktop),
      endReason: String(r.end_reason),
      endedBy: r.ended_by === null ? null : String(r.ended_by),
    }));
  },
};
