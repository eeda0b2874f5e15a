// What every page of the console shares: the session's state, the API client, building elements
// (text is always text, never HTML) and formatting.

/** Set by app.js: what to do when the API answers 401 (the session ended). */
export const hooks = { sessionLost: () => {} };
export const $ = (id) => document.getElementById(id);
export const state = { user: null, role: null, csrf: null, overview: null, lastEvent: 0, source: null, logs: [], timer: null };
export const ROLES = ['viewer', 'technician', 'admin'];
export const can = (role) => ROLES.indexOf(state.role) >= ROLES.indexOf(role);

/** h('td', {class: 'x'}, 'text', child): an element; text is always text, never HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

export class ApiError extends Error {
  constructor(status, body) { super(body?.error ?? `HTTP ${status}`); this.status = status; this.body = body; }
}

export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['x-csrf-token'] = state.csrf;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { error: text }; }
  if (res.status === 401 && path !== '/api/auth/login') hooks.sessionLost('Your session ended: log in again.');
  if (!res.ok && !(json && 'applied' in json)) throw new ApiError(res.status, json);
  return json;
}

// ---- formatting -------------------------------------------------------------------------------

export function age(ts) {
  if (!ts) return '—';
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}
export function duration(s) {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
export function bytes(n) {
  if (n === undefined || n === null) return '—';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${Math.round(n * 10) / 10} ${units[i]}`;
}
export const time = (ts) => (ts ? new Date(ts).toLocaleString() : '—');
export const value = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
export const word = (w) => h('span', { class: String(w) }, String(w));
/** A table that may be wider than a phone scrolls in its own box, which the keyboard can reach. */
export function scroller(label, table) {
  return h('div', { class: 'scroll', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}
export function dl(pairs) {
  return h('dl', {}, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}
export const current = () => (location.hash.slice(1).split('/')[0] || 'overview');
