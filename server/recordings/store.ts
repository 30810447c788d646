// Recording rows: one per recorded remote session, written when the repeater
// starts the file and completed when it closes it (or by the crash reconcile).
import type { Knex } from 'knex';

export type RecordingRowState = 'recording' | 'complete' | 'incomplete' | 'dropped' | 'failed' | 'purged';

export interface RecordingView {
  id: string;
  ticketId: number;
  remoteSessionId: number | null;
  /** The participant whose channel was recorded (issue 26); null: the holder's main channel. */
  participantId: number | null;
  technicianId: number | null;
  node: string | null;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  /** Bytes on disk (null while recording). */
  bytes: number | null;
  sha256: string | null;
  state: RecordingRowState;
  /** Why a recording was dropped, failed or is incomplete, in words. */
  problem: string | null;
  purgedAt: number | null;
  purgeReason: string | null;
}

interface Row {
  id: string;
  ticket_id: number;
  remote_session_id: number | null;
  participant_id?: number | null;
  technician_id: number | null;
  node: string | null;
  file: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  bytes: number | null;
  sha256: string | null;
  state: RecordingRowState;
  problem: string | null;
  purged_at: number | null;
  purge_reason: string | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

function toView(r: Row): RecordingView & { file: string } {
  return {
    id: r.id,
    ticketId: Number(r.ticket_id),
    remoteSessionId: num(r.remote_session_id),
    participantId: num(r.participant_id ?? null),
    technicianId: num(r.technician_id),
    node: r.node,
    file: r.file,
    startedAt: Number(r.started_at),
    endedAt: num(r.ended_at),
    durationMs: num(r.duration_ms),
    bytes: num(r.bytes),
    sha256: r.sha256,
    state: r.state,
    problem: r.problem,
    purgedAt: num(r.purged_at),
    purgeReason: r.purge_reason,
  };
}

export const recordingStore = {
  async insert(db: Knex, r: { id: string; ticketId: number; participantId?: number | null; remoteSessionId: number | null; technicianId: number | null; node: string | null; file: string; startedAt: number }): Promise<void> {
    await db('recordings').insert({
      id: r.id,
      ticket_id: r.ticketId,
      participant_id: r.participantId ?? null,
      remote_session_id: r.remoteSessionId,
      technician_id: r.technicianId,
      node: r.node,
      file: r.file,
      started_at: r.startedAt,
      state: 'recording',
    });
  },

  /**
   * Completes a row in one of `from` (by default only one still recording;
   * says whether it was changed). A node's own close may also replace what the
   * server kept of it as incomplete when it lost the node (`from` recording and
   * incomplete).
   */
  async close(
    db: Knex,
    id: string,
    end: { state: RecordingRowState; endedAt: number; durationMs: number; bytes: number; sha256: string | null; problem: string | null },
    from: readonly RecordingRowState[] = ['recording'],
  ): Promise<boolean> {
    const n = await db('recordings').where({ id }).whereIn('state', from).update({
      state: end.state,
      ended_at: end.endedAt,
      duration_ms: end.durationMs,
      bytes: end.bytes,
      sha256: end.sha256,
      problem: end.problem,
    });
    return n === 1;
  },

  async get(db: Knex, id: string): Promise<(RecordingView & { file: string }) | null> {
    const row = (await db('recordings').where({ id }).first()) as Row | undefined;
    return row ? toView(row) : null;
  },

  /** A ticket's recordings, oldest first, each with the display name of the technician whose session it is. */
  async forTicket(db: Knex, ticketId: number): Promise<(RecordingView & { file: string; technicianName: string | null })[]> {
    const rows = (await db('recordings')
      .leftJoin('technicians', 'technicians.id', 'recordings.technician_id')
      .where({ 'recordings.ticket_id': ticketId })
      .orderBy('recordings.started_at', 'asc')
      .select('recordings.*', 'technicians.display_name as technician_name')) as (Row & { technician_name: string | null })[];
    return rows.map((r) => ({ ...toView(r), technicianName: r.technician_name ?? null }));
  },

  /** Rows still "recording" for a ticket (the crash reconcile closes them). */
  async stillRecording(db: Knex, ticketId: number, remoteSessionId?: number): Promise<(RecordingView & { file: string })[]> {
    return ((await db('recordings').where({ ticket_id: ticketId, state: 'recording', ...(remoteSessionId === undefined ? {} : { remote_session_id: remoteSessionId }) })) as Row[]).map(toView);
  },

  /** Finished recordings with files, oldest first. */
  async onDisk(db: Knex): Promise<(RecordingView & { file: string })[]> {
    return ((await db('recordings').whereIn('state', ['complete', 'incomplete', 'dropped']).orderBy('started_at', 'asc')) as Row[]).map(toView);
  },

  async markPurged(db: Knex, id: string, at: number, reason: string): Promise<boolean> {
    const n = await db('recordings').where({ id }).whereNot({ state: 'purged' }).whereNot({ state: 'recording' }).update({ state: 'purged', purged_at: at, purge_reason: reason });
    return n === 1;
  },
};
