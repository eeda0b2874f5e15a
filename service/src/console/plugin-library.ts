import path from 'node:path';
import type { PluginConfig } from '../config/schema.js';
import type { PluginTrustConfig } from '../config/sections/plugin-trust.js';
import { inspectNativePlugin } from '../plugins/native/index.js';
import { policyOf } from '../trust/admit.js';
import { verifyLibrary } from '../trust/verify.js';

/**
 * What a configured plugin's library says about itself, for the console's plugins page: its
 * descriptor (read in a throwaway host process, as `backworks plugin inspect` does) and its
 * signature against plugin_trust.keys (as `backworks plugin verify`, without requiring one).
 */
export async function describeLibrary(name: string, entry: PluginConfig, configDir: string, trust: PluginTrustConfig | undefined): Promise<Record<string, unknown>> {
  if (entry.type !== 'external') return { name, type: entry.type, pack: entry.pack };
  const file = path.resolve(configDir, entry.path!);
  const answer: Record<string, unknown> = { name, type: 'external', path: file };
  try {
    const { configSchema, ...descriptor } = await inspectNativePlugin(file);
    answer.descriptor = { ...descriptor, config_schema: configSchema !== undefined };
  } catch (err) {
    answer.descriptor = { error: (err as Error).message, code: (err as { code?: string }).code };
  }
  try {
    const verdict = await verifyLibrary(file, { ...policyOf(trust), requireSigned: false });
    answer.signature = verdict.state === 'verified'
      ? { state: 'verified', key: verdict.keyId, manifest: verdict.manifest }
      : verdict.state === 'untrusted' ? { state: 'untrusted', key: verdict.keyId } : { state: 'unsigned' };
  } catch (err) {
    answer.signature = { state: 'refused', error: (err as Error).message, code: (err as { code?: string }).code };
  }
  return answer;
}
