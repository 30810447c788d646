// Every /api/v1 route's description, by domain. A new route gets its entry in
// its domain's file here (or a new file, added below); the tests fail while a
// served route has none (openapi.test.ts) or a response does not match it.
import type { RouteDoc } from './describe.ts';
import { ticketDocs } from './tickets.ts';
import { desktopDocs } from './desktop.ts';
import { accountDocs, technicianDocs, tokenDocs } from './people.ts';
import { participantDocs } from './participants.ts';
import { describeDocs, recordDocs } from './records.ts';
import { surveyDocs } from './surveys.ts';
import { reportDocs } from './reports.ts';
import { cannedReplyDocs } from './canned-replies.ts';
import { teamDocs, topicDocs } from './teams.ts';
import { webhookDocs } from './webhooks.ts';

const byTag: Record<string, RouteDoc[]> = {
  Tickets: ticketDocs,
  Participants: participantDocs,
  'Desktop API': desktopDocs,
  Account: accountDocs,
  Technicians: technicianDocs,
  'API tokens': tokenDocs,
  'Recordings, audit, live stream': recordDocs,
  Satisfaction: surveyDocs,
  'Session reports': reportDocs,
  'Canned replies': cannedReplyDocs,
  Description: describeDocs,
  Teams: teamDocs,
  Topics: topicDocs,
  Webhooks: webhookDocs,
};

export const routeDocs: (RouteDoc & { tag: string })[] = Object.entries(byTag).flatMap(([tag, docs]) => docs.map((d) => ({ ...d, tag })));
