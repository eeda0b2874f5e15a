import type { BackworksConfig } from '../config/schema.js';
import { isLoopbackHost } from './tls.js';

/**
 * What is open to the network without a credential: `auth: none` endpoints and an open /metrics
 * are fine on loopback, and worth a warning (from `check` and at start) beyond it.
 */
export function exposureWarnings(config: BackworksConfig, host = config.server?.host ?? '0.0.0.0'): string[] {
  if (isLoopbackHost(host)) return [];
  const warnings: string[] = [];
  for (const [name, endpoint] of Object.entries(config.endpoints ?? {})) {
    if (endpoint.auth === 'none') {
      warnings.push(`endpoints.${name}.auth is "none" and the server listens on ${host}: anyone who reaches the port calls ${endpoint.path} without a credential; `
        + 'remove it (a token is the default), or listen on 127.0.0.1');
    }
  }
  return warnings;
}
