// JSON calls to the staff API from the pages' scripts: same-origin cookie,
// the page's CSRF token, and the server's words on failure (err.message, err.code).
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

export async function api(path, method = 'GET', body = undefined) {
  const headers = { 'x-csrf-token': csrf(), accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch((_notJson) => ({}));
  if (!res.ok) throw Object.assign(new Error(data.error?.message ?? `HTTP ${res.status}`), { code: data.error?.code, status: res.status });
  return data;
}
