/**
 * Two instances of the plugin, each in its own real service, talking FIX to each other: an
 * initiator and an acceptor with durable sequence numbers. Each side is killed (SIGKILL) and
 * restarted on its state while the other keeps sending; resend requests and gap fills must bring
 * every application message across exactly once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../helpers/tmp.js';
import { freePort } from '../../../helpers/net.js';
import { authFetch } from '../../../helpers/service.js';
import { waitFor } from '../../../helpers/wait.js';
import { startFix, type FixGateway } from './helpers.js';


const order = (id: string) => ({ MsgType: 'NewOrderSingle', ClOrdID: id, HandlInst: '1', Symbol: 'INTC', Side: '1', TransactTime: '20240102-10:00:00', OrdType: '1', OrderQty: 100 });
const clOrdIds = (g: FixGateway) => g.documents().filter((d) => d.meta.msg_type === 'D').map((d) => /\x0111=([^\x01]*)\x01/.exec(d.body)![1]);

const running: FixGateway[] = [];
afterAll(async () => { await Promise.all(running.map((g) => g.service.stop('SIGKILL'))); });

describe('initiator and acceptor across restarts', () => {
  it('lose nothing when either side is killed and restarted', async () => {
    const port = await freePort();
    const accDir = tempDir('bw-fix-acc-');
    const iniDir = tempDir('bw-fix-ini-');
    const acceptorConfig = { session_id: 'ACC', target_comp_id: 'INI', begin_string: 'FIX.4.2', host: '127.0.0.1', port, heartbeat_interval: '1s' };
    const initiatorConfig = { session_id: 'INI', target_comp_id: 'ACC', begin_string: 'FIX.4.2', role: 'initiator', host: '127.0.0.1', port, heartbeat_interval: '1s', reconnect_interval: '200ms' };
    let acc = await startFix(acceptorConfig, { dir: accDir });
    running.push(acc);
    let ini = await startFix(initiatorConfig, { dir: iniDir });
    running.push(ini);
    const loggedOn = (g: FixGateway, name: string) => waitFor(`${name} logged on`, async () => (await g.session(name)).state === 'logged_on', { timeoutMs: 20_000, intervalMs: 50 });
    await loggedOn(ini, 'INI');

    const sent = { toAcc: [] as string[], toIni: [] as string[] };
    const send = async (g: FixGateway, name: string, id: string, list: string[]) => {
      const res = await g.post(`/fix/${name}/messages`, order(id));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.seq).toBeGreaterThan(0);
      list.push(id);
      return res.body as { seq: number; sent: boolean };
    };
    for (let i = 0; i < 10; i++) {
      await send(ini, 'INI', `I-${i}`, sent.toAcc);
      await send(acc, 'ACC', `A-${i}`, sent.toIni);
    }
    await waitFor('the acceptor to store 10 orders', () => clOrdIds(acc).length === 10, { timeoutMs: 20_000, intervalMs: 50 });

    // The acceptor dies; the initiator keeps taking orders (stored under their numbers).
    await acc.service.stop('SIGKILL');
    await waitFor('the initiator to notice', async () => (await ini.session('INI')).state !== 'logged_on', { timeoutMs: 20_000, intervalMs: 50 });
    for (let i = 10; i < 20; i++) expect((await send(ini, 'INI', `I-${i}`, sent.toAcc)).sent).toBe(false);
    acc = await startFix(acceptorConfig, { dir: accDir });
    running.push(acc);
    await loggedOn(ini, 'INI');
    for (let i = 20; i < 25; i++) await send(ini, 'INI', `I-${i}`, sent.toAcc);
    await waitFor('the acceptor to get every order after its restart', () => clOrdIds(acc).length >= 25, { timeoutMs: 20_000, intervalMs: 50 });

    // Now the initiator dies; the acceptor keeps taking orders for it.
    await ini.service.stop('SIGKILL');
    await waitFor('the acceptor to notice', async () => (await acc.session('ACC')).state === 'disconnected', { timeoutMs: 20_000, intervalMs: 50 });
    for (let i = 10; i < 20; i++) await send(acc, 'ACC', `A-${i}`, sent.toIni);
    ini = await startFix(initiatorConfig, { dir: iniDir });
    running.push(ini);
    await loggedOn(ini, 'INI');
    await waitFor('the initiator to get every order after its restart', () => clOrdIds(ini).length >= 20, { timeoutMs: 20_000, intervalMs: 50 });

    // Exactly once, in order, on both sides; sequence numbers continued across the restarts.
    await new Promise((r) => setTimeout(r, 500));
    expect(clOrdIds(acc)).toEqual(sent.toAcc);
    expect(clOrdIds(ini)).toEqual(sent.toIni);
    const accState = await acc.session('ACC');
    const iniState = await ini.session('INI');
    expect(accState.next_target_seq).toBe(iniState.next_sender_seq);
    expect(iniState.next_target_seq).toBe(accState.next_sender_seq);
    const resent = acc.documents().filter((d) => d.meta.poss_dup === true).length;
    expect(resent).toBeGreaterThanOrEqual(10); // the ten orders taken while the acceptor was down came as resends

    // The received orders through the API (paged) and as readings for the fleet link.
    const page = await acc.get('/fix/ACC/messages');
    expect(page.messages.map((m: any) => m.fields.find((f: string[]) => f[0] === 'ClOrdID')[1])).toEqual(sent.toAcc);
    expect(page.messages[0]).toMatchObject({ msg_type: 'D', fix: expect.stringMatching(/^8=FIX\.4\.2\|9=\d+\|35=D\|/) });
    expect((await acc.get(page.next)).messages).toEqual([]);
    const device = await acc.get('/api/devices/fix.ACC');
    expect(JSON.stringify(device)).toContain('11=I-24|');
  }, 120_000);
});

describe('the HTTP side', () => {
  it('sends JSON by tag names or numbers, refuses invalid messages with the reason, shows sessions in /health', async () => {
    const g = await startFix({ session_id: 'SENDER123', target_comp_id: 'TARGET456', port: 0, persist: false });
    running.push(g);
    const ok = await g.post('/fix/SENDER123/messages', { 35: 'D', 11: 'N1', 21: '1', 55: 'X', 54: '1', 60: '20240102-10:00:00', 40: '1' });
    expect(ok).toMatchObject({ status: 200, body: { session: 'SENDER123', seq: 1, sent: false, queued: true } });
    const missing = await g.post('/fix/SENDER123/messages', { MsgType: 'D', ClOrdID: 'N2', HandlInst: '1', Symbol: 'X', Side: '1', OrdType: '1' });
    expect(missing.status).toBe(400);
    expect(missing.body.error ?? missing.body).toMatch(/Required tag missing: TransactTime \(60\)/);
    const badEnum = await g.post('/fix/SENDER123/messages', { ...order('N3'), Side: 'Q' });
    expect(JSON.stringify(badEnum.body)).toMatch(/Value is incorrect .*Side \(54\)/);
    const unknown = await g.post('/fix/SENDER123/messages', { ...order('N4'), Colour: 'red' });
    expect(JSON.stringify(unknown.body)).toMatch(/Colour: no such field in FIX\.4\.4/);
    const admin = await g.post('/fix/SENDER123/messages', { MsgType: 'Heartbeat' });
    expect(JSON.stringify(admin.body)).toMatch(/session message/);
    expect((await g.post('/fix/NOPE/messages', order('N5'))).status).toBe(404);
    expect(await g.session('SENDER123')).toMatchObject({ state: 'disconnected', next_sender_seq: 2, role: 'acceptor', begin_string: 'FIX.4.4' });
    const health = await (await authFetch(`${g.service.url}/health`)).json() as any;
    expect(health.plugins['fix-protocol'].details.sessions.SENDER123).toMatchObject({ state: 'disconnected', sender_comp_id: 'SENDER123', target_comp_id: 'TARGET456' });
  }, 60_000);
});
