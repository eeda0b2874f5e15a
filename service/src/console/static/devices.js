// Devices: latest values, a history chart per point, and writes with a confirmation.
import { $, api, age, can, current, h, scroller, state, time, value, word } from './lib.js';

// Devices: the latest value of every point, refreshed every 2 s while the page is open.
export async function pageDevices(page) {
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
