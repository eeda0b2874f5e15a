import { answeredStatus, type PluginRequest, type PluginResponse } from '../../../sdk/typescript/index.js';
import { BackworksError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ManagedPlugin } from './managed.js';

/**
 * The request lifecycle around a configured endpoint:
 *
 *   before_request (declared order) -> handler -> after_response (reverse declared order)
 *
 * A critical plugin's hook error rejects the request (with the status the plugin chose when it
 * answered one, see sdk/c/backworks_plugin.h, else 502); a non-critical plugin's failure is logged and the request goes on.
 */
export async function runBeforeRequest(hooks: ManagedPlugin[], request: PluginRequest, log: Logger): Promise<void> {
  for (const plugin of hooks) {
    if (plugin.state !== 'running') continue;
    await runHook(plugin, 'before_request', () => plugin.driver.beforeRequest(request), log);
  }
}

export async function runAfterResponse(hooks: ManagedPlugin[], request: PluginRequest, response: PluginResponse, log: Logger): Promise<void> {
  for (const plugin of hooks) {
    if (plugin.state !== 'running') continue;
    await runHook(plugin, 'after_response', () => plugin.driver.afterResponse(request, response), log);
  }
}

async function runHook(plugin: ManagedPlugin, call: string, work: () => Promise<void>, log: Logger): Promise<void> {
  try {
    await plugin.invoke(call, work);
  } catch (err) {
    if (!plugin.settings.critical) {
      log.warn({ plugin: plugin.name, hook: call, err: (err as Error).message }, 'non-critical hook failed; request continues');
      return;
    }
    if (answeredStatus(err) !== undefined) throw err;
    throw new BackworksError('BW_ERR_PLUGIN_HOOK_REJECTED', plugin.name, call, (err as Error).message);
  }
}
