// The API reference page (issue 28), Spanish. Part of the catalogue es.ts.
export const esApiDocs = {
  'nav.apiDocs': 'API',
  'apiDocs.title': 'Referencia de la API',
  'apiDocs.intro': 'Cada ruta de /api/v1, descrita en OpenAPI 3.1: qué recibe y qué responde, sus códigos de error y quién puede llamarla (una sesión web, un token de API con su alcance o el secreto del cliente de escritorio). Las integraciones usan tokens de API, que se crean en su página de Perfil.',
  'apiDocs.download': 'Descargar la descripción:',
  'apiDocs.json': 'JSON',
  'apiDocs.yaml': 'YAML',
  'apiDocs.needsScript': 'La referencia de abajo necesita JavaScript; la descripción está en /api/v1/openapi.json.',
  'apiDocs.loading': 'Cargando la referencia…',
  'apiDocs.failed': 'No se pudo mostrar la referencia: {message}',
};
