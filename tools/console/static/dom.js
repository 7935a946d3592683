// Tiny DOM helpers shared by the pages: h() builds elements, api() fetches JSON and throws the API's
// error message, and a few formatters.

/** h('a', { href, class, onclick }, [children | text]) */
export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export async function api(path, init) {
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body;
}

/** The stack or stage this console serves (GET /api/stack), fetched once. */
let stackInfo;
export const stack = () => (stackInfo ??= api('/api/stack'));

export const post = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export const time = (ms) => (ms ? new Date(ms).toLocaleTimeString([], { hour12: false }) : '');
export const dateTime = (ms) => (ms ? `${new Date(ms).toLocaleDateString()} ${time(ms)}` : '');
export const duration = (ms) => (ms === undefined || ms === null ? '' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

/** Pretty JSON of a string that may hold JSON. */
export function pretty(text) {
  if (text === undefined || text === null) return '';
  try {
    return JSON.stringify(typeof text === 'string' ? JSON.parse(text) : text, null, 2);
  } catch {
    return String(text);
  }
}

export const link = (href, text, attrs = {}) => h('a', { href, ...attrs }, text);
export const executionHref = (arn) => `#/execution/${encodeURIComponent(arn)}`;
export const requestHref = (id) => `#/requests/${encodeURIComponent(id)}`;

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return el;
}
