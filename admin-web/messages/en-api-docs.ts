// The API reference page (issue 28), English. Part of the catalogue en.ts.
export const enApiDocs = {
  'nav.apiDocs': 'API',
  'apiDocs.title': 'API reference',
  'apiDocs.intro': 'Every route of /api/v1, described in OpenAPI 3.1: what each takes and answers, its error codes, and who may call it (a web session, an API token with its scope, or the desktop client’s secret). Integrations use API tokens, made on your Profile page.',
  'apiDocs.download': 'Download the description:',
  'apiDocs.json': 'JSON',
  'apiDocs.yaml': 'YAML',
  'apiDocs.needsScript': 'The reference below needs JavaScript; the description itself is at /api/v1/openapi.json.',
  'apiDocs.loading': 'Loading the reference…',
  'apiDocs.failed': 'The reference could not be shown: {message}',
};
