import path from 'node:path';
import { locateConfig } from '../config/locate.js';

/**
 * The state directory of the gateway that FILE configures (where its credentials and local socket
 * are), resolved the way the service resolves it.
 */
export async function stateDirOf(configFile?: string): Promise<string> {
  const { ConfigError, loadConfig } = await import('../config/load.js');
  const { formatIssue } = await import('../../../sdk/typescript/yaml.js');
  const file = locateConfig(configFile);
  try {
    const loaded = await loadConfig(file);
    return path.resolve(loaded.dir, loaded.config.state_dir ?? process.env.STATE_DIRECTORY ?? '.state');
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`${err.issues.map(formatIssue).join('\n')}\nfix backworks.yaml first (backworks check -c ${file})`);
    throw err;
  }
}
