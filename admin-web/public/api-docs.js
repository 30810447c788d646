// The API reference page: Swagger UI (swagger-ui-dist, served from
// node_modules) draws /api/v1/openapi.json. No remote validator, no CDN;
// "Try it out" only for reads (with this page's session).
const status = document.getElementById('api-docs-status');
const say = (message) => {
  status.textContent = status.dataset.failed.replace('{message}', message);
  status.classList.add('error');
};
try {
  window.SwaggerUIBundle({
    url: '/api/v1/openapi.json',
    domNode: document.getElementById('swagger-ui'),
    deepLinking: true,
    validatorUrl: null,
    supportedSubmitMethods: ['get'],
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    onComplete: () => {
      status.textContent = '';
    },
    onFailure: (err) => say(String(err?.message ?? err)),
  });
} catch (err) {
  say(String(err?.message ?? err));
}
