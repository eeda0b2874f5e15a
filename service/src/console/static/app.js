// The technician's console: one small module, no framework. It reads the same API as scripts
// (/api/…), with the session cookie and, for anything that changes state, the X-CSRF-Token header.

const $ = (id) => document.getElementById(id);
const state = { user: null, role: null, csrf: null, overview: null, lastEvent: 0, source: null, logs: [], timer: null };
const ROLES = ['viewer', 'technician', 'admin'];
const can = (role) => ROLES.indexOf(state.role) >= ROLES.indexOf(role);

/** h('td', {class: 'x'}, 'text', child): an element; text is always text, never HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

class ApiError extends Error {
  constructor(status, body) { super(body?.error ?? `HTTP ${status}`); this.status = status; this.body = body; }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['x-csrf-token'] = state.csrf;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { error: text }; }
  if (res.status === 401 && path !== '/api/auth/login') { showLogin('Your session ended: log in again.'); }
  if (!res.ok && !(json && 'applied' in json)) throw new ApiError(res.status, json);
  return json;
}

// ---- formatting -------------------------------------------------------------------------------

function age(ts) {
  if (!ts) return '—';
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}
function duration(s) {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
function bytes(n) {
  if (n === undefined || n === null) return '—';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${Math.round(n * 10) / 10} ${units[i]}`;
}
const time = (ts) => (ts ? new Date(ts).toLocaleString() : '—');
const value = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
const word = (w) => h('span', { class: String(w) }, String(w));
/** A table that may be wider than a phone scrolls in its own box, which the keyboard can reach. */
function scroller(label, table) {
  return h('div', { class: 'scroll', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}
function dl(pairs) {
  return h('dl', {}, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

// ---- session ----------------------------------------------------------------------------------

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
const current = () => (location.hash.slice(1).split('/')[0] || 'overview');

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

// Devices: the latest value of every point, refreshed every 2 s while the page is open.
async function pageDevices(page) {
  page.append(h('h1', {}, 'Devices'), h('div', { id: 'devices' }, 'Loading…'), h('div', { id: 'chart-area' }));
  const refresh = async () => {
    try {
      const { devices } = await api('GET', '/api/devices');
      const details = await Promise.all(devices.map((d) => api('GET', `/api/devices/${encodeURIComponent(d.device ?? d.name)}`)));
      if (current() === 'devices') renderDevices(details);
    } catch (err) {
      const root = $('devices');
      if (root) root.replaceChildren(h('p', { class: 'error' }, err.message));
    }
  };
  await refresh();
  state.timer = setInterval(refresh, 2000);
}

function renderDevices(details) {
  const root = $('devices');
  if (!root) return;
  if (!details.length) { root.replaceChildren(h('p', { class: 'muted' }, 'No device has sent a reading yet.')); return; }
  root.replaceChildren(...details.map(({ device, points }) => h('section', { 'data-device': device },
    h('h2', {}, device),
    scroller(`Points of ${device}`, h('table', {},
      h('thead', {}, h('tr', {}, ['point', 'value', 'quality', 'age', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, Object.entries(points).map(([point, p]) => h('tr', { 'data-point': point },
        h('th', { scope: 'row' }, point),
        h('td', { 'data-field': 'value' }, value(p.value)),
        h('td', {}, word(p.quality)),
        h('td', { title: time(p.ts) }, age(p.ts)),
        h('td', {},
          h('button', { type: 'button', class: 'small secondary', 'aria-label': `History of ${device} ${point}`, onclick: () => showHistory(device, point) }, 'History'),
          ' ',
          can('technician') ? h('button', { type: 'button', class: 'small secondary', 'aria-label': `Write ${device} ${point}`, onclick: () => openWrite(device, point) }, 'Write…') : null)))),
    )))));
}

async function showHistory(device, point) {
  const area = $('chart-area');
  area.replaceChildren(h('h2', { id: 'chart-title' }, `History: ${device} / ${point}`), h('p', {}, 'Loading…'));
  try {
    const { readings } = await api('GET', `/api/devices/${encodeURIComponent(device)}/history?point=${encodeURIComponent(point)}&limit=300`);
    area.replaceChildren(area.firstChild, chart(readings, `${device} ${point}`));
    area.scrollIntoView({ block: 'nearest' });
  } catch (err) {
    area.replaceChildren(area.firstChild, h('p', { class: 'error' }, err.message));
  }
}

/** A line chart of numeric readings as SVG: small and fast enough for the buffer's 300 points. */
function chart(readings, label) {
  const numeric = readings.filter((r) => typeof r.value === 'number' || typeof r.value === 'boolean').map((r) => [r.ts, Number(r.value)]);
  if (numeric.length < 2) return h('p', { class: 'muted' }, numeric.length ? 'One reading so far.' : 'No numeric readings to draw.');
  const W = 600, H = 200, pad = 40;
  const xs = numeric.map((p) => p[0]), ys = numeric.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - pad - 10);
  const sy = (y) => H - 20 - ((y - y0) / (y1 - y0 || 1)) * (H - 40);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${label}: ${numeric.length} readings from ${y0} to ${y1}, ${time(x0)} to ${time(x1)}`);
  const line = document.createElementNS(svg.namespaceURI, 'polyline');
  line.setAttribute('points', numeric.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' '));
  svg.append(line);
  for (const [text, x, y] of [[String(y1), 2, 14], [String(y0), 2, H - 22], [new Date(x0).toLocaleTimeString(), pad, H - 4], [new Date(x1).toLocaleTimeString(), W - 80, H - 4]]) {
    const t = document.createElementNS(svg.namespaceURI, 'text');
    t.setAttribute('x', x); t.setAttribute('y', y); t.textContent = text;
    svg.append(t);
  }
  return svg;
}

// Writing a point: enter the value, then confirm it in a second step (the write reaches a machine).
let writeTarget = null;
function openWrite(device, point) {
  writeTarget = { device, point, confirming: false };
  $('write-target').textContent = `${device} / ${point}`;
  $('write-value').value = '';
  $('write-value').disabled = false;
  $('write-confirm-text').hidden = true;
  $('write-error').textContent = '';
  $('write-submit').textContent = 'Write…';
  $('write-dialog').showModal();
}
function parseValue(text) {
  try { return JSON.parse(text); } catch { return text; }
}
$('write-cancel').addEventListener('click', () => $('write-dialog').close());
$('write-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const t = writeTarget;
  const v = parseValue($('write-value').value.trim());
  if (!t.confirming) {
    t.confirming = true;
    $('write-value').disabled = true;
    $('write-confirm-text').textContent = `Write ${JSON.stringify(v)} to ${t.device} / ${t.point}? The device acts on it at once.`;
    $('write-confirm-text').hidden = false;
    $('write-submit').textContent = 'Confirm write';
    $('write-submit').focus();
    return;
  }
  try {
    await api('PUT', `/api/devices/${encodeURIComponent(t.device)}/points/${encodeURIComponent(t.point)}`, { value: v });
    $('write-dialog').close();
  } catch (err) {
    $('write-error').textContent = err.message;
    t.confirming = false;
    $('write-value').disabled = false;
    $('write-submit').textContent = 'Write…';
  }
});

// Config: the running config (redacted) and, for a technician, the file in an editor.
async function pageConfig(page) {
  page.append(h('h1', {}, 'Configuration'));
  if (can('technician')) {
    const editor = h('textarea', { id: 'config-editor', spellcheck: 'false', 'aria-describedby': 'config-result' });
    const result = h('div', { id: 'config-result', 'aria-live': 'polite' });
    page.append(
      h('h2', {}, 'Edit backworks.yaml'),
      h('p', { id: 'config-file', class: 'muted' }),
      h('label', { for: 'config-editor' }, 'The file'),
      editor,
      h('div', { class: 'buttons' },
        h('button', { type: 'button', id: 'config-check', onclick: () => configAction('check', editor, result) }, 'Check'),
        h('button', { type: 'button', id: 'config-apply', onclick: () => configAction('apply', editor, result) }, 'Apply (write and reload)')),
      result,
    );
    try {
      const { file, text } = await api('GET', '/api/config/file');
      editor.value = text;
      $('config-file').textContent = file;
    } catch (err) { result.replaceChildren(h('p', { class: 'error' }, err.message)); }
  }
  const running = h('pre', { id: 'config-running', tabindex: '0' }, 'Loading…');
  page.append(h('h2', {}, 'Running configuration (secrets redacted)'), running);
  try { running.textContent = JSON.stringify(await api('GET', '/api/config'), null, 2); } catch (err) { running.textContent = err.message; }
}

async function configAction(kind, editor, result) {
  result.replaceChildren(h('p', {}, kind === 'check' ? 'Checking…' : 'Applying…'));
  try {
    const answer = kind === 'check'
      ? { check: await api('POST', '/api/config/check', { yaml: editor.value }) }
      : await api('PUT', '/api/config/file', { yaml: editor.value });
    const { check, reload } = answer;
    if (!check.valid) {
      result.replaceChildren(h('p', { class: 'error' }, `${check.errors.length} mistake(s): nothing was changed.`),
        h('ul', { class: 'issues' }, check.errors.map((i) => h('li', {},
          h('button', { type: 'button', onclick: () => goToLine(editor, i.line, i.column) }, `line ${i.line}, column ${i.column}`), `: ${i.message}`))));
      return;
    }
    const parts = [h('p', { class: 'ok' }, `Valid: ${check.plugins} plugins, ${check.endpoints} endpoints.`), ...check.warnings.map((w) => h('p', { class: 'warn' }, w))];
    if (reload) {
      if (reload.ok) {
        const p = reload.plugins;
        const changed = [['started', p.started], ['replaced', p.replaced], ['removed', p.removed]].filter(([, names]) => names.length).map(([what, names]) => `${what}: ${names.join(', ')}`);
        parts.push(h('p', { class: 'ok', id: 'config-applied' }, `Applied and reloaded${changed.length ? ` (plugins ${changed.join('; ')})` : ''}.${reload.needsRestart.length ? ` Takes effect at the next restart: ${reload.needsRestart.join(', ')}.` : ''}`));
        for (const r of p.refused) parts.push(h('p', { class: 'error' }, `Plugin ${r.name} did not come up with the new config, its previous instance keeps running: ${r.reason}`));
      }
      else parts.push(h('p', { class: 'error' }, 'The reload was refused: the previous file was put back and the running configuration stays.'),
        h('ul', {}, (reload.issues ?? []).map((i) => h('li', {}, `line ${i.line}, column ${i.column}: ${i.message}`))));
    }
    result.replaceChildren(...parts);
    if (reload?.ok) $('config-running').textContent = JSON.stringify(await api('GET', '/api/config'), null, 2);
  } catch (err) {
    result.replaceChildren(h('p', { class: 'error' }, err.message));
  }
}

function goToLine(editor, line, column) {
  const lines = editor.value.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += Math.max(0, column - 1);
  editor.focus();
  editor.setSelectionRange(offset, Math.min(editor.value.length, offset + (lines[line - 1]?.length ?? 0) - column + 1));
  editor.scrollTop = Math.max(0, (line - 5) * 18);
}

// Logs: the gateway's last lines, then live ones from the stream; filter by plugin and level.
async function pageLogs(page) {
  const plugin = h('select', { id: 'log-plugin' }, h('option', { value: '' }, 'all'));
  const level = h('select', { id: 'log-level' }, ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => h('option', { value: l, selected: l === 'info' }, l)));
  for (const name of Object.keys(state.overview?.plugins ?? {})) plugin.append(h('option', { value: name }, name));
  plugin.addEventListener('change', renderLogLines);
  level.addEventListener('change', renderLogLines);
  page.append(h('h1', {}, 'Logs and events'),
    h('div', { class: 'filters' }, h('div', {}, h('label', { for: 'log-plugin' }, 'Plugin'), plugin), h('div', {}, h('label', { for: 'log-level' }, 'Level at least'), level)),
    scroller('Log lines', h('table', {}, h('thead', {}, h('tr', {}, ['time', 'level', 'plugin', 'message'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', { id: 'log-lines' }))));
  try {
    const { lines } = await api('GET', '/api/logs?limit=1000&level=trace');
    const seen = new Set(state.logs.map((l) => l.id));
    state.logs = [...lines.filter((l) => !seen.has(l.id)), ...state.logs].sort((a, b) => a.id - b.id).slice(-1000);
  } catch { /* the live lines still show */ }
  renderLogLines();
}

function renderLogLines() {
  const body = $('log-lines');
  if (!body) return;
  const plugin = $('log-plugin').value;
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  const min = levels.indexOf($('log-level').value);
  const shown = state.logs.filter((l) => (!plugin || l.plugin === plugin) && levels.indexOf(l.level) >= min).slice(-300).reverse();
  body.replaceChildren(...shown.map((l) => h('tr', { class: 'log-line' },
    h('td', {}, new Date(l.time).toLocaleTimeString()),
    h('td', {}, h('span', { class: l.level === 'error' || l.level === 'fatal' ? 'bad' : l.level === 'warn' ? 'degraded' : '' }, l.level)),
    h('td', {}, l.plugin ?? ''), h('td', {}, l.msg, Object.keys(l.fields).length ? h('span', { class: 'muted' }, ` ${JSON.stringify(l.fields)}`) : ''))));
}

// Messages: the documents the packs stored (HL7, EDI, FIX), newest first, with status and reason.
async function pageMessages(page) {
  const q = h('input', { id: 'doc-q', type: 'search', placeholder: 'id or control number' });
  const status = h('select', { id: 'doc-status' }, ['', 'received', 'stored', 'mapped', 'delivered', 'not_mapped', 'refused', 'conflict', 'dead_letter'].map((s) => h('option', { value: s }, s || 'any')));
  const form = h('form', { class: 'filters', id: 'doc-form', role: 'search' },
    h('div', {}, h('label', { for: 'doc-q' }, 'Search'), q),
    h('div', {}, h('label', { for: 'doc-status' }, 'Status'), status),
    h('button', { type: 'submit' }, 'Search'));
  page.append(h('h1', {}, 'Messages'), form, h('div', { id: 'doc-list' }, 'Loading…'), h('div', { id: 'doc-detail' }));
  const load = async () => {
    const params = new URLSearchParams({ limit: '200' });
    if (q.value.trim()) params.set('q', q.value.trim());
    if (status.value) params.set('status', status.value);
    const root = $('doc-list');
    try {
      const { documents } = await api('GET', `/api/documents?${params}`);
      if (!documents.length) { root.replaceChildren(h('p', { class: 'muted' }, 'No document matches.')); return; }
      root.replaceChildren(scroller('Documents', h('table', {},
        h('thead', {}, h('tr', {}, ['id', 'plugin', 'type', 'status', 'reason', 'received'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, documents.map((d) => h('tr', { 'data-document': d.id },
          h('th', { scope: 'row' }, can('technician') ? h('button', { type: 'button', class: 'small secondary', 'aria-label': `Show document ${d.id}`, onclick: () => showDocument(d.id) }, String(d.id)) : String(d.id)),
          h('td', {}, d.plugin), h('td', {}, d.type), h('td', { 'data-field': 'status' }, word(d.status)),
          h('td', {}, reasonOf(d.meta)), h('td', {}, time(d.received_at))))))));
    } catch (err) { root.replaceChildren(h('p', { class: 'error' }, err.message)); }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); void load(); });
  await load();
}

function reasonOf(meta) {
  if (!meta) return '';
  for (const key of ['reason', 'error', 'message', 'detail']) if (typeof meta[key] === 'string') return meta[key];
  return '';
}

async function showDocument(id) {
  const area = $('doc-detail');
  try {
    const d = await api('GET', `/api/documents/${id}`);
    area.replaceChildren(h('h2', {}, `Document ${d.id}: ${d.type} from ${d.plugin}`),
      dl([['status', word(d.status)], ['received', time(d.received_at)], ['updated', time(d.updated_at)], ['reason', reasonOf(d.meta) || '—']]),
      h('h3', {}, 'Meta'), h('pre', { tabindex: '0' }, JSON.stringify(d.meta, null, 2)),
      h('h3', {}, 'Body'), h('pre', { tabindex: '0', id: 'doc-body' }, d.body.replace(/\r/g, '\n')));
    area.scrollIntoView({ block: 'nearest' });
  } catch (err) { area.replaceChildren(h('p', { class: 'error' }, err.message)); }
}

// Plugins: what each library says about itself, and a restart for a technician.
async function pagePlugins(page) {
  page.append(h('h1', {}, 'Plugins'), h('div', { id: 'plugin-list' }, 'Loading…'));
  const root = $('plugin-list');
  try {
    const { plugins } = await api('GET', '/api/plugins');
    root.replaceChildren(...plugins.map((p) => h('section', { class: 'card', 'data-plugin': p.name },
      h('h2', {}, `${p.name} `, word(p.status)),
      dl([['version', p.version], ['description', p.description], ['state', word(p.state)], ['breaker', word(p.breaker)], ['restarts', String(p.restarts)],
        ['capabilities', (p.capabilities ?? []).join(', ')],
        ...(p.abi ? [['ABI', typeof p.abi === 'string' ? p.abi : JSON.stringify(p.abi)]] : []),
        ...(p.signature ? [['signature', JSON.stringify(p.signature)]] : []),
        ...(p.message ? [['message', p.message]] : [])]),
      h('details', {}, h('summary', {}, 'Everything the gateway knows'), h('pre', {}, JSON.stringify(p, null, 2))),
      h('button', { type: 'button', class: 'secondary', onclick: (e) => inspectLibrary(p.name, e.target) }, `Inspect ${p.name}'s library`),
      h('div', { 'data-field': 'library', 'aria-live': 'polite' }),
      can('technician') ? h('button', { type: 'button', class: 'secondary', onclick: async (e) => {
        const button = e.target;
        const result = button.nextElementSibling;
        button.disabled = true;
        result.textContent = `Restarting ${p.name}…`;
        try {
          const report = await api('POST', `/api/plugins/${encodeURIComponent(p.name)}/restart`);
          const refused = report.refused?.find((r) => r.name === p.name);
          result.className = refused ? 'error' : 'ok';
          result.textContent = refused ? `The new instance did not come up, the old one keeps running: ${refused.reason}` : `Restarted ${p.name} at ${new Date().toLocaleTimeString()}: a new instance took over.`;
        } catch (err) {
          result.className = 'error';
          result.textContent = err.message;
        }
        button.disabled = false;
      } }, `Restart ${p.name}`) : null,
      h('p', { 'aria-live': 'polite', 'data-field': 'restart-result' }))));
  } catch (err) {
    root.replaceChildren(h('p', { class: 'error' }, err.message));
  }
}

/** The library's descriptor and signature, read by the gateway as `backworks plugin inspect` / `verify` do. */
async function inspectLibrary(name, button) {
  const out = button.nextElementSibling;
  out.textContent = 'Reading the library…';
  try {
    const lib = await api('GET', `/api/plugins/${encodeURIComponent(name)}/library`);
    if (lib.type !== 'external') { out.replaceChildren(h('p', {}, `A TypeScript pack (${lib.pack}): no library to inspect.`)); return; }
    const d = lib.descriptor ?? {};
    const s = lib.signature ?? {};
    const signature = s.state === 'verified' ? `verified: signed by ${s.key} (${s.manifest.name} ${s.manifest.version}, sha256 ${s.manifest.sha256})`
      : s.state === 'untrusted' ? `signed by ${s.key}, a key not in plugin_trust.keys` : s.state === 'unsigned' ? 'unsigned (no .sig file beside it)' : `refused: ${s.error}`;
    out.replaceChildren(dl([
      ['file', lib.path],
      ['descriptor', d.error ? h('span', { class: 'error' }, `${d.code ?? ''} ${d.error}`) : `${d.name} ${d.version}, ABI ${d.abi}, ${(d.capabilities ?? []).join(', ')}`],
      ['signature', h('span', { 'data-field': 'signature', class: s.state === 'verified' ? 'ok' : s.state === 'unsigned' ? '' : 'bad' }, signature)],
    ]));
  } catch (err) {
    out.replaceChildren(h('p', { class: 'error' }, err.message));
  }
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
