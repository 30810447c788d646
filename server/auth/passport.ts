// passport-local against the technician service. The session keeps only the
// technician id; every request reloads the account, so a disabled technician
// is logged out at their next request.
import passportModule from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { Request } from 'express';
import type { TechnicianService } from '../technicians/service.ts';
import type { Technician } from '../technicians/store.ts';
import { isAppError } from '../errors.ts';
import { deviceOf } from './device.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends Technician {}
  }
}

export type PassportInstance = InstanceType<typeof passportModule.Passport>;

export function createPassport(technicians: TechnicianService): PassportInstance {
  const passport = new passportModule.Passport();
  passport.use(
    new LocalStrategy({ passReqToCallback: true }, (req: Request, username, password, done) => {
      technicians.authenticate(username, password, { address: req.ip ?? '', device: deviceOf(req) }).then(
        (technician) => done(null, technician),
        (err: unknown) => done(err),
      );
    }),
  );
  passport.serializeUser((user, done) => done(null, user.id));
  passport.deserializeUser((id: number, done) => {
    technicians.get(id).then(
      (technician) => done(null, technician.active ? technician : false),
      (err: unknown) => (isAppError(err, 'TECHNICIAN_NOT_FOUND') ? done(null, false) : done(err)),
    );
  });
  return passport;
}
