/**
 * 100,000 random and mutated FIX messages into the plugin's acceptor, plus random JSON into its
 * endpoint, through the real plugin host: the host process must survive all of it (same pid, no
 * restart), log no panic, and still log on and answer correctly afterwards.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { authFetch } from '../../../helpers/service.js';
import { waitFor } from '../../../helpers/wait.js';
import { startFix, type FixGateway } from './helpers.js';
import { complete, SOH } from './script.js';

const MESSAGES = 100_000;

/** Deterministic, so a failure can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const stamp = () => new Date().toISOString().replace(/[-]/g, '').replace('T', '-').slice(0, 21);
const header = (type: string, seq: number) => `8=FIX.4.4${SOH}35=${type}${SOH}34=${seq}${SOH}49=TW44${SOH}52=${stamp()}${SOH}56=ISLD${SOH}`;
const templates = [
  (seq: number) => header('0', seq),
  (seq: number) => header('1', seq) + `112=T${seq}${SOH}`,
  (seq: number) => header('D', seq) + `11=ID${seq}${SOH}21=1${SOH}40=1${SOH}54=1${SOH}55=INTC${SOH}38=100${SOH}60=${stamp().slice(0, 17)}${SOH}`,
  (seq: number) => header('D', seq) + `11=G${seq}${SOH}21=1${SOH}40=2${SOH}44=10.5${SOH}54=2${SOH}55=IBM${SOH}386=2${SOH}336=A${SOH}336=B${SOH}60=${stamp().slice(0, 17)}${SOH}`,
  (seq: number) => header('2', seq) + `7=1${SOH}16=0${SOH}`,
  (seq: number) => header('4', seq) + `36=${seq + 1}${SOH}123=Y${SOH}`,
  (seq: number) => header('d', seq) + `320=R${SOH}322=S${SOH}323=6${SOH}55=TBS${SOH}454=0${SOH}`,
  (seq: number) => header('3', seq) + `45=1${SOH}`,
];

function mutate(text: string, rnd: () => number): string {
  const pick = (n: number) => Math.floor(rnd() * n);
  const fields = text.split(SOH).filter(Boolean);
  switch (pick(12)) {
    case 0: return text; // well-formed
    case 1: { const i = pick(text.length); return text.slice(0, i) + String.fromCharCode(pick(256)) + text.slice(i + 1); } // byte flip
    case 2: { const i = pick(text.length); return text.slice(0, i) + text.slice(i + 1 + pick(8)); } // bytes deleted
    case 3: { const i = pick(fields.length); fields.splice(pick(fields.length), 0, fields[i]); break; } // field duplicated
    case 4: { const i = pick(fields.length); const j = pick(fields.length); [fields[i], fields[j]] = [fields[j], fields[i]]; break; } // fields swapped
    case 5: fields.splice(pick(fields.length), 0, `${pick(12000) - 1000}=${'x'.repeat(pick(40))}`); break; // random tag
    case 6: { const i = pick(fields.length); fields[i] = `${fields[i].split('=')[0]}=${['', '-1', '+5', '1e9', '99999999999999999999', 'Y', '\u00ff\u00fe', '20241301-25:61:61', '0'.repeat(pick(5000))][pick(9)]}`; break; }
    case 7: fields.splice(pick(fields.length), 1); break; // field removed
    case 8: return text.slice(0, pick(text.length)); // truncated
    case 9: return Array.from({ length: pick(300) }, () => String.fromCharCode(pick(256))).join(''); // noise
    case 10: { const i = pick(fields.length); fields[i] = fields[i].replace('=', ''); break; } // no equal sign
    case 11: fields.push(`95=${pick(50)}`, `96=${'z'.repeat(pick(60))}`); break; // data field with a wrong length
  }
  return fields.join(SOH) + SOH;
}

/** Some mutations keep their own BodyLength/CheckSum (wrong ones), most get correct ones. */
function frame(text: string, rnd: () => number): Buffer {
  if (rnd() < 0.3 || !text.startsWith('8=')) return Buffer.from(text, 'latin1');
  return Buffer.from(complete(text), 'latin1');
}

const running: FixGateway[] = [];
afterAll(async () => { await Promise.all(running.map((g) => g.service.stop())); });

describe('fuzzing the FIX plugin through its host', () => {
  it(`survives ${MESSAGES.toLocaleString('en')} random and mutated messages and random JSON`, async () => {
    const g = await startFix({ session_id: 'ISLD', target_comp_id: 'TW44', port: 0, reset_on_logon: true, application: 'echo', heartbeat_interval: '30s' });
    running.push(g);
    const port = await g.port('ISLD');
    const pidBefore = (await (await authFetch(`${g.service.url}/health`)).json() as any).plugins['fix-protocol'].restarts;
    const rnd = prng(20240229);
    let sent = 0;
    let connections = 0;
    while (sent < MESSAGES) {
      connections++;
      await waitFor('the previous connection to end', async () => (await g.session('ISLD')).state === 'disconnected', { timeoutMs: 10_000, intervalMs: 50 });
      const socket = net.connect({ host: '127.0.0.1', port });
      await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      let open = true;
      void closed.then(() => { open = false; });
      socket.write(complete(`8=FIX.4.4${SOH}35=A${SOH}34=1${SOH}49=TW44${SOH}52=${stamp()}${SOH}56=ISLD${SOH}98=0${SOH}108=30${SOH}`));
      // Bursts of mutated messages, numbered as the acceptor expects them (mutations aside),
      // until it hangs up; what is written after that is not counted.
      let seq = 2;
      for (let burst = 0; burst < 200 && open && sent < MESSAGES; burst++) {
        const chunk: Buffer[] = [];
        for (let i = 0; i < 20 && sent < MESSAGES; i++, sent++) {
          chunk.push(frame(mutate(templates[Math.floor(rnd() * templates.length)](seq++), rnd), rnd));
        }
        socket.write(Buffer.concat(chunk));
        await new Promise((r) => setTimeout(r, 0));
      }
      socket.end();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      socket.destroy();
    }

    let bad5xx = 0;
    for (let i = 0; i < 2000; i++) {
      const body = mutate(JSON.stringify({ MsgType: 'D', ClOrdID: `J${i}`, HandlInst: '1', Symbol: 'X', Side: '1', OrdType: '1', TransactTime: '20240102-10:00:00', NoTradingSessions: [{ TradingSessionID: 'A' }] }), rnd);
      const res = await authFetch(`${g.service.url}/fix/ISLD/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (res.status >= 500) bad5xx++;
      await res.arrayBuffer();
    }

    const health = await (await authFetch(`${g.service.url}/health`)).json() as any;
    expect(health.plugins['fix-protocol']).toMatchObject({ state: 'running', restarts: pidBefore });
    expect(bad5xx).toBe(0);
    expect(g.service.logs.filter((l) => /panic/i.test(String(l.msg)))).toEqual([]);
    const after = await g.session('ISLD');
    expect(after.garbled + after.rejected + after.received).toBeGreaterThan(MESSAGES / 4);
    // Still a working acceptor: a clean logon is answered.
    await waitFor('a quiet session', async () => (await g.session('ISLD')).state === 'disconnected', { timeoutMs: 20_000, intervalMs: 50 });
    const socket = net.connect({ host: '127.0.0.1', port });
    const answer = await new Promise<string>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('data', (d) => resolve(d.toString('latin1')));
      socket.write(complete(`8=FIX.4.4${SOH}35=A${SOH}34=1${SOH}49=TW44${SOH}52=${stamp()}${SOH}56=ISLD${SOH}98=0${SOH}108=30${SOH}`));
    });
    socket.destroy();
    expect(answer).toMatch(/^8=FIX\.4\.4\x019=\d+\x0135=A\x0134=1\x01/);
    console.log(`fuzz: ${sent} messages over ${connections} connections; session counted ${JSON.stringify(after)}`);
  }, 180_000);
});
