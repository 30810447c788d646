// Teams and topics (issue 29): server/teams/routes.ts, server/topics/routes.ts.
import { z } from 'zod';
import type { ErrorCode } from '../errors.ts';
import { empty, type RouteDoc } from './describe.ts';

const id = () => z.number().int().positive();
const names = z.object({ en: z.string(), es: z.string(), zh: z.string() });

export const TopicChoice = z.object({ id: id(), name: z.string().describe('In the caller’s language (Accept-Language)') }).meta({ id: 'TopicChoice' });
export const Topic = z
  .object({ id: id(), names, teamId: id().nullable().describe('null: everyone’s queue'), targetWaitSeconds: z.number().int().positive(), active: z.boolean() })
  .meta({ id: 'Topic' });
export const Team = z
  .object({ id: id(), name: z.string(), members: z.array(z.object({ technicianId: id(), displayName: z.string(), primary: z.boolean() })) })
  .meta({ id: 'Team' });

const team = z.object({ team: Team });
const topic = z.object({ topic: Topic });
const teamErrors: ErrorCode[] = ['TEAM_NOT_FOUND', 'TEAM_NAME_TAKEN', 'TECHNICIAN_NOT_FOUND'];
const topicErrors: ErrorCode[] = ['TOPIC_NOT_FOUND', 'TEAM_NOT_FOUND'];

export const teamDocs: RouteDoc[] = [
  { method: 'get', path: '/teams', id: 'listTeams', summary: 'Every team with its members (administrators)', responses: { 200: z.object({ teams: z.array(Team) }) } },
  { method: 'post', path: '/teams', id: 'createTeam', summary: 'Make a team (administrators)', responses: { 201: team }, errors: [...teamErrors, 'TOO_MANY_TEAMS'] },
  { method: 'get', path: '/teams/{id}', id: 'getTeam', summary: 'One team', responses: { 200: team }, errors: teamErrors },
  { method: 'put', path: '/teams/{id}', id: 'updateTeam', summary: 'Rename a team, set its members and their primary team', responses: { 200: team }, errors: teamErrors },
  { method: 'delete', path: '/teams/{id}', id: 'deleteTeam', summary: 'Remove a team: its topics and waiting requests go to everyone’s queue', responses: { 204: empty() }, errors: teamErrors },
];

export const topicDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/topics',
    id: 'listTopicChoices',
    summary: 'The topics a user may ask about, in their language (the desktop client)',
    description: 'Open like the help request itself (with X-Client-Key when the server sets CLIENT_KEY). The `topicId` of a help request is one of these.',
    responses: { 200: z.object({ topics: z.array(TopicChoice) }) },
    errors: ['CLIENT_KEY_INVALID', 'RATE_LIMITED'],
  },
  { method: 'get', path: '/topics/all', id: 'listTopics', summary: 'Every topic, inactive ones too (administrators)', responses: { 200: z.object({ topics: z.array(Topic) }) } },
  { method: 'post', path: '/topics', id: 'createTopic', summary: 'Make a topic (administrators)', responses: { 201: topic }, errors: [...topicErrors, 'TOO_MANY_TOPICS'] },
  { method: 'get', path: '/topics/{id}', id: 'getTopic', summary: 'One topic', responses: { 200: topic }, errors: topicErrors },
  { method: 'put', path: '/topics/{id}', id: 'updateTopic', summary: 'Change a topic (names, team, target wait, active)', responses: { 200: topic }, errors: topicErrors },
];
