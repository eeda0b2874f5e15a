/**
 * QuickFIX's FIX 4.4 acceptance scripts, every one, played against libfix_plugin.so running as
 * acceptor inside the real service: SenderCompID ISLD, TargetCompID TW44, ResetOnLogon, the
 * FIX44.xml dictionary, and the echo application the scripts assume.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../helpers/wait.js';
import { acceptanceDir, startFix, type FixGateway } from './helpers.js';
import { play } from './player.js';
import { listScripts, readFormats } from './script.js';

const scripts = listScripts(path.join(acceptanceDir, 'definitions'));
const formats = readFormats(path.join(acceptanceDir, 'fields.fmt'));
const acceptor = { session_id: 'ISLD', target_comp_id: 'TW44', begin_string: 'FIX.4.4', port: 0, reset_on_logon: true, application: 'echo' };

/** Two acceptors play scripts side by side: the heartbeat scripts take half a minute each. */
const GATEWAYS = 2;
const gateways: FixGateway[] = [];
const idle: FixGateway[] = [];
const waiting: Array<(g: FixGateway) => void> = [];

async function withGateway<T>(work: (g: FixGateway) => Promise<T>): Promise<T> {
  const gateway = idle.pop() ?? await new Promise<FixGateway>((resolve) => waiting.push(resolve));
  try {
    return await work(gateway);
  } finally {
    // The next script must find the session disconnected, as a fresh counterparty would.
    await waitFor('the session to see the disconnect', async () => (await gateway.session('ISLD')).state === 'disconnected', { timeoutMs: 10_000, intervalMs: 50 }).catch(() => undefined);
    const next = waiting.shift();
    if (next) next(gateway); else idle.push(gateway);
  }
}

beforeAll(async () => {
  for (let i = 0; i < GATEWAYS; i++) gateways.push(await startFix(acceptor));
  idle.push(...gateways);
}, 60_000);

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.service.stop()));
});

describe.concurrent('QuickFIX FIX 4.4 acceptance definitions', () => {
  it('has all 59 scripts', () => {
    expect(scripts).toHaveLength(59);
  });

  it('fails a script whose expectation the acceptor does not meet (the runner can fail)', async () => {
    const original = fs.readFileSync(scripts.find((s) => s.endsWith('4b_ReceivedTestRequest.def'))!, 'utf8');
    const wrong = original.replace('112=HELLO\x0110=0', '112=HULLO\x0110=0');
    expect(wrong).not.toBe(original);
    await withGateway(async (gateway) => {
      await expect(play(wrong, await gateway.port('ISLD'), formats)).rejects.toThrow(/tag 112: expected HULLO, received HELLO/);
    });
  }, 30_000);

  // The slowest first, so they overlap with the rest.
  const slow = ['6_SendTestRequest.def', '4a_NoDataSentDuringHeartBtInt.def'];
  const ordered = [...scripts].sort((a, b) => Number(slow.includes(path.basename(b))) - Number(slow.includes(path.basename(a))));
  for (const script of ordered) {
    it(path.basename(script, '.def'), async () => {
      const text = fs.readFileSync(script, 'utf8');
      await withGateway(async (gateway) => play(text, await gateway.port('ISLD'), formats));
    }, 90_000);
  }
});
