// Las palabras del inicio de sesión de empresa (mismas claves que en-identity.ts).
import type { enIdentity } from './en-identity.ts';

export const esIdentity: Record<keyof typeof enIdentity, string> = {
  'login.companyGroup': 'Entrar con la cuenta de su empresa',
  'login.signInWith': 'Entrar con {name}',
  'login.orLocal': 'O inicie sesión con usuario y contraseña',
  'team.source': 'Entra con',
  'team.sourceLocal': 'Cuenta local',
  'team.lastLoginCol': 'Último inicio de sesión',
  'team.never': 'nunca',
  'team.method.local': 'contraseña',
  'team.method.oidc': 'inicio de sesión único',
  'team.method.ldap': 'directorio',
  'team.ssoNote': 'Esta cuenta entra con {provider}: su rol, nombre y correo siguen al proveedor en cada inicio de sesión, y su contraseña de aquí no se usa.',
  'audit.do.login.succeededVia': 'inició sesión con {method}.',
  'audit.do.login.failedVia': 'no pudo iniciar sesión con {method} ({why}).',
  'audit.method.password': 'una contraseña',
  'audit.method.passwordTotp': 'una contraseña y un código de la aplicación',
  'audit.method.passwordRecovery': 'una contraseña y un código de recuperación',
  'audit.loginWhy.no_account': 'no tiene cuenta aquí y no se crean al primer inicio',
  'audit.loginWhy.local_login_off': 'esta cuenta no puede entrar como cuenta local',
  'audit.loginWhy.not_in_group': 'no está en ningún grupo del directorio',
  'audit.loginWhy.directory_down': 'el directorio no respondió',
  'audit.loginWhy.provider_down': 'el proveedor no respondió',
  'audit.loginWhy.sso_refused': 'se rechazó la respuesta del proveedor',
  'audit.loginWhy.username_taken': 'el nombre de usuario es de otra cuenta',
};
