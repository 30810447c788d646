// The API reference page (issue 28), Chinese. Part of the catalogue zh.ts.
export const zhApiDocs = {
  'nav.apiDocs': 'API',
  'apiDocs.title': 'API 参考',
  'apiDocs.intro': '/api/v1 的每个接口都以 OpenAPI 3.1 描述：接收什么、返回什么、错误代码，以及谁可以调用（网页会话、带权限范围的 API 令牌，或桌面客户端的密钥）。集成系统使用 API 令牌，可在“个人资料”页面创建。',
  'apiDocs.download': '下载描述文件：',
  'apiDocs.json': 'JSON',
  'apiDocs.yaml': 'YAML',
  'apiDocs.needsScript': '下面的参考需要 JavaScript；描述文件位于 /api/v1/openapi.json。',
  'apiDocs.loading': '正在加载参考…',
  'apiDocs.failed': '无法显示参考：{message}',
};
