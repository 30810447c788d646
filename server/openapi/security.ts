// How a caller proves who it is, as the document's security schemes: the
// technicians' web session (cookie, with the CSRF token on every change), API
// tokens (server/api-tokens), and the desktop API's secrets.
import type { ZodOpenApiComponentsObject } from 'zod-openapi';

export const securitySchemes: NonNullable<ZodOpenApiComponentsObject['securitySchemes']> = {
  session: {
    type: 'apiKey',
    in: 'cookie',
    name: 'hd.sid',
    description:
      'A technician’s web session: `POST /auth/login` with `{ username, password }` sets the cookie. ' +
      'Every request that changes something (not GET) must also carry the session’s CSRF token (see `csrf`).',
  },
  csrf: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRF-Token',
    description: 'The web session’s CSRF token, read from `GET /auth/session` (`csrfToken`) or the login’s answer; required with the cookie on every request that is not a GET.',
  },
  apiToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'hd_…',
    description:
      'An API token (`Authorization: Bearer hd_…`) made on one’s profile page or at `POST /api/v1/tokens`. It acts as its owner, needs no CSRF token, ' +
      'and reaches only the routes its scopes open (the scope each operation needs is listed in its security requirement). Each token has its own rate limit.',
  },
  clientSecret: {
    type: 'http',
    scheme: 'bearer',
    description: 'The desktop API: the client secret `POST /api/v1/help-requests` answered once (`clientSecret`), for that help request only.',
  },
  clientKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Client-Key',
    description: 'When the server sets CLIENT_KEY, a new help request must carry it.',
  },
};
