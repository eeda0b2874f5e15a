// The config, logs, messages and plugins pages.
import { $, api, can, dl, h, scroller, state, time, word } from './lib.js';

// Config: the running config (redacted) and, for a technician, the file in an editor.
export async function pageConfig(page) {
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
export async function pageLogs(page) {
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

export function renderLogLines() {
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
export async function pageMessages(page) {
  const q = h('input', { id: 'doc-q', type: 'search', placeholder: 'id or control number' });
  const status = h('select', { id: 'doc-status' }, ['', 'received', 'stored', 'mapped', 'fhir_sent', 'fhir_dead_letter', 'not_mapped', 'refused', 'conflict'].map((s) => h('option', { value: s }, s || 'any')));
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
export async function pagePlugins(page) {
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
