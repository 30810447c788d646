// The migration list, imported statically so knex needs no file-system scan
// or loader for TypeScript: append new migrations here, in order.
import type { Knex } from 'knex';
import * as initial from './001_initial.ts';
import * as dashboardIndexes from './002_dashboard_indexes.ts';
import * as accountSecurity from './003_account_security.ts';
import * as liveRemoteSessions from './004_live_remote_sessions.ts';
import * as twoFactor from './005_two_factor.ts';
import * as sharedScreen from './006_shared_screen.ts';
import * as repeaterNodes from './007_repeater_nodes.ts';
import * as recordings from './008_recordings.ts';
import * as chat from './009_chat.ts';
import * as files from './010_files.ts';
import * as declinesAndLanguage from './011_declines_and_language.ts';
import * as uploadBudget from './012_upload_budget.ts';
import * as accountLoginCeiling from './013_account_login_ceiling.ts';
import * as uploadReservations from './014_upload_reservations.ts';
import * as sealedTotpSecret from './015_sealed_totp_secret.ts';
import * as eventOutbox from './016_event_outbox.ts';
import * as nodeClaims from './017_node_claims.ts';
import * as recordingFileUnique from './018_recording_file_unique.ts';
import * as participants from './019_participants.ts';
import * as identities from './020_identities.ts';
import * as apiTokens from './021_api_tokens.ts';
import * as historySearch from './022_history_search.ts';
import * as ticketRollups from './023_ticket_rollups.ts';
import * as historyKeysetIndexes from './024_history_keyset_indexes.ts';
import * as webhooks from './025_webhooks.ts';
import * as timeZone from './029_time_zone.ts';
import * as teamsTopics from './026_teams_topics.ts';
import * as surveysCannedReplies from './027_surveys_canned_replies.ts';
import * as spreadTree from './030_spread_tree.ts';
import * as wordPostings from './031_word_postings.ts';
import * as spreadTreeByTime from './032_spread_tree_by_time.ts';

const migrations: Record<string, Knex.Migration> = {
  '001_initial': initial,
  '002_dashboard_indexes': dashboardIndexes,
  '003_account_security': accountSecurity,
  '004_live_remote_sessions': liveRemoteSessions,
  '005_two_factor': twoFactor,
  '006_shared_screen': sharedScreen,
  '007_repeater_nodes': repeaterNodes,
  '008_recordings': recordings,
  '009_chat': chat,
  '010_files': files,
  '011_declines_and_language': declinesAndLanguage,
  '012_upload_budget': uploadBudget,
  '013_account_login_ceiling': accountLoginCeiling,
  '014_upload_reservations': uploadReservations,
  '015_sealed_totp_secret': sealedTotpSecret,
  '016_event_outbox': eventOutbox,
  '017_node_claims': nodeClaims,
  '018_recording_file_unique': recordingFileUnique,
  '019_participants': participants,
  '020_identities': identities,
  '021_api_tokens': apiTokens,
  '022_history_search': historySearch,
  '023_ticket_rollups': ticketRollups,
  '024_history_keyset_indexes': historyKeysetIndexes,
  '025_webhooks': webhooks,
  '029_time_zone': timeZone,
  '026_teams_topics': teamsTopics,
  '027_surveys_canned_replies': surveysCannedReplies,
  '030_spread_tree': spreadTree,
  '031_word_postings': wordPostings,
  '032_spread_tree_by_time': spreadTreeByTime,
};

export const migrationSource: Knex.MigrationSource<string> = {
  // By name: helpers' lines may land in any order in the object above.
  getMigrations: () => Promise.resolve(Object.keys(migrations).sort()),
  getMigrationName: (name) => name,
  getMigration: (name) => {
    const migration = migrations[name];
    if (!migration) return Promise.reject(new Error(`unknown migration ${name}`));
    return Promise.resolve(migration);
  },
};
