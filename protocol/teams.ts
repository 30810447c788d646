// Teams and topics (issue 29): what the desktop client reads to offer a topic
// (GET /api/v1/topics, in the caller's language), and where a ticket is
// routed — its topic, the team whose queue holds it and its wait target —
// as every view of a ticket carries it. Types and constants only, no words.

export const topicsPath = '/api/v1/topics';

/** One topic as the desktop client offers it: its name in the caller's language. */
export interface TopicChoice {
  id: number;
  name: string;
}

/** GET /api/v1/topics: the active topics, in the order administrators see them. */
export interface TopicsResponse {
  topics: TopicChoice[];
}

export const topicLanguages = ['en', 'es', 'zh'] as const;
export type TopicLanguage = (typeof topicLanguages)[number];
export type TopicNames = Record<TopicLanguage, string>;

/** Where a ticket is routed; every field null for a request made with no topic (everyone's queue). */
export interface TicketRouting {
  topic: { id: number; names: TopicNames } | null;
  /** The team whose queue holds it; null: every technician's queue. */
  team: { id: number; name: string } | null;
  /** The target wait it was made with (ms), and when it falls due. */
  waitTargetMs: number | null;
  waitDueAt: number | null;
  /** When a server found it still waiting past its target (once). */
  waitingTooLongAt: number | null;
}

/** The staff stream's filter for a team's queue: the team's id, or every team of mine. */
export type QueueTeamFilter = number | 'mine';
