// 公司登录的文字（与 en-identity.ts 相同的键）。
import type { enIdentity } from './en-identity.ts';

export const zhIdentity: Record<keyof typeof enIdentity, string> = {
  'login.companyGroup': '使用公司账户登录',
  'login.signInWith': '通过 {name} 登录',
  'login.orLocal': '或使用用户名和密码登录',
  'team.source': '登录方式',
  'team.sourceLocal': '本地账户',
  'team.lastLoginCol': '上次登录',
  'team.never': '从未',
  'team.method.local': '密码',
  'team.method.oidc': '单点登录',
  'team.method.ldap': '目录',
  'team.ssoNote': '此账户通过 {provider} 登录：每次登录时，其角色、姓名和电子邮件以提供方为准，此处的密码不被使用。',
  'audit.do.login.succeededVia': '通过{method}登录。',
  'audit.do.login.failedVia': '通过{method}登录失败（{why}）。',
  'audit.method.password': '密码',
  'audit.method.passwordTotp': '密码和验证器代码',
  'audit.method.passwordRecovery': '密码和恢复代码',
  'audit.loginWhy.no_account': '此处没有账户，且首次登录不会创建',
  'audit.loginWhy.local_login_off': '此账户不允许本地登录',
  'audit.loginWhy.not_in_group': '不在任何目录组中',
  'audit.loginWhy.directory_down': '目录没有响应',
  'audit.loginWhy.provider_down': '提供方没有响应',
  'audit.loginWhy.sso_refused': '提供方的应答被拒绝',
  'audit.loginWhy.username_taken': '用户名属于另一个账户',
};
