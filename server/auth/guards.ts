// Route guards and the actor of a request.
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import type { ActorContext } from '../audit/actor.ts';
import type { Technician } from '../technicians/store.ts';

export const requireTechnician: RequestHandler = (req, _res, next) => {
  if (!req.user) return next(new AppError('UNAUTHENTICATED', 'Log in first'));
  next();
};

export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (!req.user) return next(new AppError('UNAUTHENTICATED', 'Log in first'));
  if (req.user.role !== 'admin') return next(new AppError('FORBIDDEN', 'Only administrators may do this'));
  next();
};

export function technicianOf(req: Request): Technician {
  if (!req.user) throw new AppError('UNAUTHENTICATED', 'Log in first');
  return req.user;
}

export function technicianContext(req: Request): ActorContext {
  const t = technicianOf(req);
  return { actor: { type: 'technician', id: t.id, name: t.username, role: t.role }, remoteAddress: req.ip ?? '' };
}
