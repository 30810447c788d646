import { z } from 'zod';

export const roles = ['admin', 'technician'] as const;
export type Role = (typeof roles)[number];

export const passwordSchema = z
  .string()
  .min(10, 'must be at least 10 characters')
  .max(200, 'must be at most 200 characters');

export const usernameSchema = z
  .string()
  .trim()
  .min(2, 'must be at least 2 characters')
  .max(64, 'must be at most 64 characters')
  .regex(/^[a-zA-Z0-9._-]+$/, 'may contain letters, digits, dot, dash and underscore only')
  .transform((s) => s.toLowerCase());

export const createTechnicianSchema = z.object({
  username: usernameSchema,
  displayName: z.string().trim().min(1, 'is required').max(120),
  email: z.union([z.email(), z.literal('')]).default(''),
  role: z.enum(roles).default('technician'),
  password: passwordSchema,
});
/** A new account, validated (the service takes this, never raw input). */
export type NewTechnician = z.output<typeof createTechnicianSchema>;

export const updateTechnicianSchema = z
  .object({
    displayName: z.string().trim().min(1, 'is required').max(120),
    email: z.union([z.email(), z.literal('')]),
    role: z.enum(roles),
    active: z.boolean(),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, 'name at least one field to change');
export type TechnicianChange = z.output<typeof updateTechnicianSchema>;

export const loginSchema = z.object({
  username: z.string().trim().min(1, 'is required').max(64).transform((s) => s.toLowerCase()),
  password: z.string().min(1, 'is required').max(200),
});

export const changePasswordSchema = z.object({
  currentPassword: z.string().min(1, 'is required').max(200),
  newPassword: passwordSchema,
});

/** A technician's id in a path (/technicians/:id). */
export const technicianParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) }).describe('technician id');
