// passport-local against the login form's sign-in (local accounts, then the
// LDAP directory: server/identity/service.ts). The session keeps only the
// technician id; every request reloads the account, so a disabled technician
// is logged out at their next request.
import passportModule from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { Request } from 'express';
import type { TechnicianService } from '../technicians/service.ts';
import type { LoginOrigin, PasswordChecked } from '../technicians/login.ts';
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

/** The login form's check: a technician (with a pending second step, or a company sign-in's session limits), or a coded refusal. */
export type PasswordSignIn = (username: string, password: string, origin: LoginOrigin) => Promise<PasswordChecked>;

export function createPassport(technicians: TechnicianService, signIn: PasswordSignIn = (u, p, o) => technicians.authenticate(u, p, o)): PassportInstance {
  const passport = new passportModule.Passport();
  passport.use(
    new LocalStrategy({ passReqToCallback: true }, (req: Request, username, password, done) => {
      signIn(username, password, { address: req.ip ?? '', device: deviceOf(req) }).then(
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
