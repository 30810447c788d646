// One factory for the server's rate limiters. Alone, a server counts in memory;
// with REDIS_URL the counts live in Redis, so a limit holds across every
// server behind the front door. When Redis is away the limiter lets requests
// through (and says so in the log) rather than refusing everyone.
import type { Request } from 'express';
import { rateLimit, type RateLimitRequestHandler } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.ts';

export interface LimiterOptions {
  /** A short name, part of the Redis keys. */
  name: string;
  perMinute: number;
  message: string;
  redis: Redis | null;
  /** What is counted (default: the client's address). */
  key?: (req: Request) => string;
}

export function createLimiter({ name, perMinute, message, redis, key }: LimiterOptions): RateLimitRequestHandler {
  return rateLimit({
    ...(key ? { keyGenerator: key } : {}),
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    passOnStoreError: true,
    ...(redis
      ? { store: new RedisStore({ prefix: `helpdesk:rl:${name}:`, sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as never }) }
      : {}),
    handler: (_req, _res, next) => next(new AppError('RATE_LIMITED', message)),
  });
}
