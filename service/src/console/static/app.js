// The technician's console: a few small modules, no framework. It reads the same API as scripts
// (/api/…), with the session cookie and, for anything that changes state, the X-CSRF-Token header.
import { $, api, age, bytes, current, dl, duration, h, hooks, scroller, state, time, word } from './lib.js';
import { pageDevices } from './devices.js';
import { pageConfig, pageLogs, pageMessages, pagePlugins, renderLogLines } from './pages.js';

// ---- session ----------------------------------------------------------------------------------

hooks.sessionLost = (message) => showLogin(message);

function showLogin(message = '') {
  state.user = null;
  state.source?.close();
  state.source = null;
  clearInterval(state.timer);
  $('nav').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('page').hidden = true;
  $('login').hidden = false;
  $('link').className = '';
  $('link').textContent = '';
  $('login-error').textContent = message;
  $('login-user').focus();
  // Until the first admin exists, /health (open) says where the one-time setup token is.
  fetch('/health', { credentials: 'omit' }).then((r) => r.json()).then((health) => {
    if (health.setup?.pending) $('login-hint').textContent = `No admin yet. On the box: backworks user add NAME --role admin (or POST /api/auth/setup with the token in ${health.setup.token_file}).`;
  }).catch(() => {});
}

async function startSession(session) {
  state.user = session.user;
  state.role = session.role;
  state.csrf = session.csrf_token;
  $('login').hidden = true;
  $('nav').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = `${session.user} (${session.role})`;
  connect();
  route();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  try {
    const session = await api('POST', '/api/auth/login', { user: $('login-user').value, password: $('login-password').value });
    $('login-password').value = '';
    await startSession(session);
  } catch (err) {
    $('login-error').textContent = err.message;
  }
});

$('logout').addEventListener('click', async () => {
  try { await api('POST', '/api/auth/logout'); } catch { /* logged out either way */ }
  showLogin('Logged out.');
});

// ---- the live stream --------------------------------------------------------------------------

function connect() {
  state.source?.close();
  const source = new EventSource('/api/events');
  state.source = source;
  source.addEventListener('open', () => setLink(true));
  source.addEventListener('overview', (e) => {
    state.overview = JSON.parse(e.data);
    state.lastEvent = Date.now();
    setLink(true);
    if (current() === 'overview') renderOverview();
  });
  source.addEventListener('log', (e) => {
    state.logs.push(JSON.parse(e.data));
    if (state.logs.length > 1000) state.logs.shift();
    if (current() === 'logs') renderLogLines();
  });
  source.addEventListener('session-ended', () => { source.close(); showLogin('Your session ended: log in again.'); });
  source.addEventListener('error', async () => {
    setLink(false);
    if (source.readyState === EventSource.CLOSED) {
      // Refused (401) rather than cut: the session is gone; otherwise try again shortly.
      try { await api('GET', '/api/auth/session'); setTimeout(() => state.user && connect(), 2000); } catch { /* showLogin ran */ }
    }
  });
}

function setLink(up) {
  const el = $('link');
  if (up) {
    el.className = 'live';
    el.textContent = 'Live: connected to the gateway';
  } else {
    el.className = 'down';
    const since = state.lastEvent ? ` The values shown are from ${new Date(state.lastEvent).toLocaleTimeString()}.` : '';
    el.textContent = `Disconnected from the gateway: reconnecting…${since}`;
  }
  document.body.dataset.link = up ? 'live' : 'down';
}

// ---- pages ------------------------------------------------------------------------------------

const pages = { overview: pageOverview, devices: pageDevices, messages: pageMessages, config: pageConfig, logs: pageLogs, plugins: pagePlugins };

function route() {
  if (!state.user) return;
  clearInterval(state.timer);
  const name = pages[current()] ? current() : 'overview';
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const page = $('page');
  page.hidden = false;
  page.replaceChildren();
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · Backworks console`;
  pages[name](page);
}
window.addEventListener('hashchange', () => { route(); $('main').focus(); });

function pageOverview(page) {
  page.append(h('h1', {}, 'Overview'), h('div', { id: 'overview' }, state.overview ? '' : 'Waiting for the gateway…'));
  renderOverview();
}

function renderOverview() {
  const root = $('overview');
  const o = state.overview;
  if (!root || !o) return;
  const g = o.gateway ?? {};
  const b = o.buffer ?? {};
  const plugins = Object.values(o.plugins ?? {});
  const pending = Object.entries(b.pending ?? {});
  const fleet = o.fleet;
  root.replaceChildren(
    h('div', { class: 'cards' },
      h('div', { class: 'card' }, h('h2', {}, 'Gateway'), dl([
        ['id / site', `${g.id ?? '(no gateway.id)'} / ${g.site ?? '(no gateway.site)'}`],
        ['state', h('span', { id: 'gateway-state', class: o.status }, o.status)],
        ['version', o.version], ['uptime', duration(o.uptime_s)],
      ])),
      h('div', { class: 'card' }, h('h2', {}, 'Buffer'), dl([
        ['readings', String(b.rows ?? '—')], ['size', `${bytes(b.bytes)} of ${bytes(b.max_bytes)}`],
        ['oldest reading', b.oldest_ts ? `${time(b.oldest_ts)} (${age(b.oldest_ts)} ago)` : 'none'],
        ['dropped', String(b.dropped?.total ?? 0)], ['disk', word(b.disk ?? '—')],
      ])),
      h('div', { class: 'card' }, h('h2', {}, 'Fleet broker'), fleet ? dl([
        ['broker', fleet.broker], ['link', word(fleet.state)], ['since', time(Date.parse(fleet.since))],
        ['acknowledged seq', String(fleet.acked_seq)], ['in flight', String(fleet.inflight)],
        ['last delivery', fleet.last_delivery_ts ? `${age(fleet.last_delivery_ts)} ago` : 'none since the console started watching'],
        ...(fleet.last_error ? [['last error', h('span', { class: 'error' }, fleet.last_error)]] : []),
      ]) : h('p', { class: 'muted' }, 'No fleet link configured (fleet.mqtt).')),
    ),
    h('h2', {}, 'Plugins'),
    scroller('Plugins', h('table', { id: 'plugins-table' },
      h('thead', {}, h('tr', {}, ['plugin', 'health', 'state', 'breaker', 'restarts', 'calls/s', 'last error'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, plugins.map((p) => h('tr', { 'data-plugin': p.name },
        h('th', { scope: 'row' }, p.name, p.critical ? ' (critical)' : ''),
        h('td', { 'data-field': 'status' }, word(p.status)),
        h('td', { 'data-field': 'state' }, word(p.state)),
        h('td', { 'data-field': 'breaker' }, word(p.breaker)),
        h('td', { 'data-field': 'restarts' }, String(p.restarts)),
        h('td', {}, String(p.calls_per_s ?? 0)),
        h('td', { 'data-field': 'last-error' }, lastError(p))))),
    )),
    h('h2', {}, 'Uplinks'),
    pending.length
      ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'uplink'), h('th', { scope: 'col' }, 'backlog (readings)'), h('th', { scope: 'col' }, 'state'))),
        h('tbody', {}, pending.map(([name, n]) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, String(n)),
          h('td', {}, name === 'fleet' && fleet ? word(fleet.state) : '—')))))
      : h('p', { class: 'muted' }, 'No uplink yet.'),
    h('p', { class: 'muted' }, `Updated ${new Date(o.ts).toLocaleTimeString()}`),
  );
}

/** The plugin's message while it is unwell, else its last warning or error (with its time), if any. */
function lastError(p) {
  if (p.status !== 'healthy' && p.message) return p.message;
  const last = p.last_problem;
  if (!last) return '';
  const detail = last.err ?? (last.exit !== undefined ? `exit ${typeof last.exit === 'string' ? last.exit : JSON.stringify(last.exit)}` : '');
  return `${new Date(last.time).toLocaleTimeString()}: ${last.msg}${detail ? ` (${detail})` : ''}`;
}

// ---- start ------------------------------------------------------------------------------------

(async () => {
  try {
    const session = await api('GET', '/api/auth/session');
    if (session) await startSession(session);
  } catch {
    showLogin();
  }
})();
