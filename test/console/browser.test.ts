import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startService, type RunningService } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { backworks } from '../auth/cli.js';
import { childPids, libs } from '../plugins/native/helpers.js';

/**
 * The console in Debian's Chromium against the quickstart (plus a native plugin in its own host,
 * to crash): log in, watch simulated values change, open a history chart, write a point, see a
 * crash and the recovery on the overview, edit the config with a mistake and apply a valid change,
 * and see the page say so when the gateway goes away. Screenshots go to test/artifacts/.
 */

const PASSWORD = 'a technician passphrase';
const artifacts = path.join(repoRoot, 'test/artifacts');
let service: RunningService;
let browser: BrowserContext;
let page: Page;
let configFile: string;
/** Uncaught exceptions in the page and anything the page's CSP refused: none expected. */
const scriptErrors: string[] = [];

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** A screenshot of the page as it is, and axe-core's serious and critical findings on it (none expected). */
async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(artifacts, `console-${name}.png`), fullPage: true });
  // Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays as it is.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> }> } }).axe.run();
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
  });
  expect({ page: name, violations }).toEqual({ page: name, violations: [] });
}
const cell = (device: string, point: string) => page.locator(`[data-device="${device}"] [data-point="${point}"] [data-field="value"]`);
/** Polls with margin: the page refreshes every 1-2 s and the CI box is loaded. */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 100 });
const pluginField = (plugin: string, field: string) => page.locator(`#plugins-table [data-plugin="${plugin}"] [data-field="${field}"]`);

beforeAll(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  const dir = tempDir('bw-console-');
  configFile = path.join(dir, 'backworks.yaml');
  const quickstart = fs.readFileSync(path.join(repoRoot, 'examples/quickstart/backworks.yaml'), 'utf8');
  fs.writeFileSync(configFile, quickstart.replace('\nendpoints:', `
  hello:
    type: external
    path: ${libs.helloC}

endpoints:`));
  service = await startService(configFile);
  const added = await backworks(['user', 'add', 'anna', '--role', 'admin', '-c', configFile], `${PASSWORD}\n`);
  expect(added.code).toBe(0);
  const profile = path.join(tempDir('bw-chromium-'), 'profile');
  fs.mkdirSync(profile);
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? await browser.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => scriptErrors.push(err.message));
  page.on('console', (message) => { if (/Content Security Policy|Refused to/.test(message.text())) scriptErrors.push(message.text()); });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

describe('the console in Chromium', () => {
  it('opens at / on the login page, and logs in to the live overview', async () => {
    await page.goto(`${service.url}/`);
    expect(new URL(page.url()).pathname).toBe('/console/');
    await poll(() => page.locator('#login').isVisible()).toBe(true);
    await shot('login');
    await page.fill('#login-user', 'anna');
    await page.fill('#login-password', 'not the password');
    await page.click('#login-form button[type=submit]');
    await poll(() => page.textContent('#login-error')).toContain('wrong user name or password');
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#link.live');
    await page.waitForSelector('#plugins-table [data-plugin="hello"]');
    expect(await pluginField('machines', 'state').textContent()).toBe('running');
    expect(await pluginField('hello', 'breaker').textContent()).toBe('closed');
    expect(await page.textContent('#gateway-state')).toBe('healthy');
    await shot('overview');
  });

  it('shows the simulated devices change value live, and a history chart of a point', async () => {
    await page.click('nav a[href="#devices"]');
    const temperature = cell('press-1', 'temperature');
    await temperature.waitFor();
    const first = await temperature.textContent();
    await poll(() => temperature.textContent()).not.toBe(first);
    expect(Number(await temperature.textContent())).toBeGreaterThanOrEqual(20);

    await page.click('button[aria-label="History of press-1 temperature"]');
    const line = page.locator('#chart-area svg.chart polyline');
    await line.waitFor();
    expect((await line.getAttribute('points'))!.split(' ').length).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#chart-area svg.chart').getAttribute('aria-label')).toMatch(/^press-1 temperature: \d+ readings/);
    await shot('devices');
  });

  it('writes a writable point after a confirmation, with the CSRF header', async () => {
    await page.click('button[aria-label="Write press-1 setpoint"]');
    await page.fill('#write-value', '73.5');
    await page.click('#write-submit');
    await poll(() => page.textContent('#write-confirm-text')).toBe('Write 73.5 to press-1 / setpoint? The device acts on it at once.');
    // Nothing is written before the confirmation.
    expect(await cell('press-1', 'setpoint').textContent()).toBe('50');
    const [put] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'PUT'),
      page.click('#write-submit'),
    ]);
    expect(put.headers()['x-csrf-token']).toMatch(/^bws_/);
    await poll(() => page.locator('#write-dialog').isVisible()).toBe(false);
    await poll(() => cell('press-1', 'setpoint').textContent()).toBe('73.5');
    const latest = await (await service.fetch('/api/devices/press-1')).json() as { points: Record<string, { value: unknown }> };
    expect(latest.points.setpoint.value).toBe(73.5);

    // A point that takes no writes says so in the dialog.
    await page.click('button[aria-label="Write press-1 strokes"]');
    await page.fill('#write-value', '1');
    await page.click('#write-submit');
    await page.click('#write-submit');
    await poll(() => page.textContent('#write-error')).toContain('not a writable simulated point');
    await page.click('#write-cancel');
  });

  it('shows a plugin crash (its host SIGKILLed) and its recovery on the overview', async () => {
    await page.click('nav a[href="#overview"]');
    await page.waitForSelector('#plugins-table [data-plugin="hello"]');
    expect(await pluginField('hello', 'restarts').textContent()).toBe('0');
    const host = childPids(service.process.pid!).find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('libhello_c'));
    expect(host).toBeDefined();
    process.kill(host!, 'SIGKILL');
    await poll(() => pluginField('hello', 'restarts').textContent()).toBe('1');
    await poll(() => pluginField('hello', 'state').textContent()).toBe('running');
    expect(await pluginField('machines', 'restarts').textContent()).toBe('0');
    // Recovered, the plugin still shows what happened to it.
    await poll(() => pluginField('hello', 'last-error').textContent()).toMatch(/^\d{1,2}:\d{2}:\d{2}.*: plugin host died \(exit .*SIGKILL/);
    expect(await pluginField('machines', 'last-error').textContent()).toBe('');
    // The crash is in the log lines too, under the plugin's name.
    await page.click('nav a[href="#logs"]');
    await page.selectOption('#log-plugin', 'hello');
    await poll(() => page.textContent('#log-lines')).toContain('plugin host died {"pid":');
    await page.selectOption('#log-level', 'error');
    await poll(() => page.locator('#log-lines tr').allTextContents()).toEqual([expect.stringMatching(/error.*hello.*plugin host died.*killed by SIGKILL/)]);
    await page.selectOption('#log-level', 'info');
    await shot('logs');
  });

  it('shows a mistake in the config at its line and column, and applies a valid change', async () => {
    await page.click('nav a[href="#config"]');
    const editor = page.locator('#config-editor');
    await poll(() => editor.inputValue()).toContain('max_batch: 500');
    const original = await editor.inputValue();
    const mistakeLine = original.split('\n').findIndex((l) => l.includes('max_batch: 500')) + 1;
    await editor.fill(original.replace('max_batch: 500', 'max_bacth: 500'));
    await page.click('#config-check');
    const issue = page.locator('#config-result .issues li').first();
    await issue.waitFor();
    expect(await issue.textContent()).toMatch(new RegExp(`^line ${mistakeLine}, column 7: unknown key "max_bacth"`));
    await shot('config-mistake');
    // Apply refuses the same mistake and leaves the file alone.
    await page.click('#config-apply');
    await poll(() => page.textContent('#config-result')).toContain('nothing was changed');
    expect(fs.readFileSync(configFile, 'utf8')).toBe(original);

    await editor.fill(original.replace('max_batch: 500', 'max_batch: 250'));
    await page.click('#config-apply');
    await page.waitForSelector('#config-applied');
    expect(await page.textContent('#config-applied')).toBe('Applied and reloaded (plugins replaced: ingest).');
    expect(fs.readFileSync(configFile, 'utf8')).toContain('max_batch: 250');
    expect(fs.readFileSync(`${configFile}.prev`, 'utf8')).toBe(original);
    await poll(() => page.textContent('#config-running')).toContain('"max_batch": 250');
    await shot('config');
  });

  it('lists the stored messages (none on the quickstart) with their search', async () => {
    await page.click('nav a[href="#messages"]');
    await poll(() => page.textContent('#doc-list')).toBe('No document matches.');
    await page.fill('#doc-q', 'MSG00001');
    await page.click('#doc-form button[type=submit]');
    await poll(() => page.textContent('#doc-list')).toBe('No document matches.');
    await shot('messages');
  });

  it('lists the plugins with what their libraries say', async () => {
    await page.click('nav a[href="#plugins"]');
    const hello = page.locator('#plugin-list [data-plugin="hello"]');
    await hello.waitFor();
    expect(await hello.textContent()).toMatch(/ABI\d+\.\d+/);
    await hello.locator('button', { hasText: "Inspect hello's library" }).click();
    await poll(() => hello.locator('[data-field="signature"]').textContent()).toBe('unsigned (no .sig file beside it)');
    expect(await hello.locator('[data-field="library"]').textContent()).toContain(`file${libs.helloC}`);
    expect(await hello.locator('[data-field="library"]').textContent()).toMatch(/descriptorhello-c? ?[\w.-]* [\d.]+, ABI \d+\.\d+/);
    await hello.locator('button', { hasText: 'Restart hello' }).click();
    await poll(() => hello.locator('[data-field="restart-result"]').textContent()).toMatch(/^Restarted hello at .*: a new instance took over\.$/);
    await shot('plugins');
  });

  it('works with the keyboard alone and at a phone\'s width', async () => {
    // A fresh load (the session cookie keeps the user logged in), then only keys.
    await page.click('nav a[href="#overview"]');
    await page.reload();
    await page.waitForSelector('#plugins-table');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('href'))).toBe('#devices');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-device="press-1"]');
    expect(new URL(page.url()).hash).toBe('#devices');

    await page.setViewportSize({ width: 360, height: 740 });
    for (const name of ['overview', 'devices', 'messages', 'config', 'logs', 'plugins']) {
      await page.click(`nav a[href="#${name}"]`);
      await page.waitForTimeout(300);
      // Nothing wider than the screen but the tables' own scrolling boxes.
      expect({ name, wider: await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth) }).toEqual({ name, wider: false });
    }
    await page.click('nav a[href="#overview"]');
    await page.waitForSelector('#plugins-table');
    await shot('phone');
    await page.setViewportSize({ width: 1100, height: 900 });
  });

  it('says so when the connection to the gateway drops', async () => {
    await page.click('nav a[href="#overview"]');
    await page.waitForSelector('#link.live');
    // A graceful stop ends the open stream: the service exits 0 without waiting for the browser.
    expect(await service.stop()).toBe(0);
    await page.waitForSelector('#link.down');
    expect(await page.textContent('#link')).toMatch(/^Disconnected from the gateway: reconnecting… The values shown are from /);
    await shot('disconnected');
    expect(scriptErrors).toEqual([]);
  });
});
