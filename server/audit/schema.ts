// The audit log's filter: one schema for the JSON API (GET /api/v1/audit) and
// the administrators' page. Empty fields (a form's "any") mean no filter.
import { z } from 'zod';

const blankIsAbsent = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankIsAbsent, schema.optional());

export const auditFilterSchema = z
  .object({
    ticketId: optional(z.coerce.number().int().positive().max(2 ** 31 - 1)),
    action: optional(z.string().trim().max(48)),
    /** The name of whoever acted (exactly). */
    actor: optional(z.string().trim().max(120)),
    from: optional(z.coerce.number().int().nonnegative()),
    to: optional(z.coerce.number().int().nonnegative()),
    /** Older than this row (the next page). */
    beforeId: optional(z.coerce.number().int().positive()),
    limit: z.preprocess(blankIsAbsent, z.coerce.number().int().min(1).max(500).default(100)),
  })
  .describe('audit filter');

export type AuditFilter = z.output<typeof auditFilterSchema>;
