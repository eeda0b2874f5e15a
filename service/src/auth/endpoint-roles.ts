import FindMyWay, { type HTTPMethod, type Instance } from 'find-my-way';
import type { BackworksConfig } from '../config/schema.js';
import { isSafeMethod } from './route-roles.js';
import type { Role } from './roles.js';

/** What a configured endpoint asks of a caller: nothing (`auth: none`) or a token of at least `role`. */
export type EndpointRule = { open: true } | { open: false; role: Role };

/**
 * The auth rules of the endpoints in backworks.yaml, in a table of their own that a reload swaps
 * whole, like the endpoints themselves. Without `role`, reading (GET, HEAD) needs a viewer and
 * anything else a technician: a viewer token never writes.
 */
export class EndpointRoles {
  private table: Instance<FindMyWay.HTTPVersion.V1> = FindMyWay();

  replace(endpoints: BackworksConfig['endpoints']): void {
    const table = FindMyWay();
    for (const endpoint of Object.values(endpoints ?? {})) {
      for (const method of endpoint.methods ?? ['GET']) {
        const rule: EndpointRule = endpoint.auth === 'none'
          ? { open: true }
          : { open: false, role: endpoint.role ?? (isSafeMethod(method) ? 'viewer' : 'technician') };
        table.on(method as HTTPMethod, endpoint.path, () => {}, rule);
      }
    }
    this.table = table;
  }

  /** The rule of the endpoint serving METHOD path, or undefined when none does (a 404 to come). */
  find(method: string, path: string): EndpointRule | undefined {
    return this.table.find(method as HTTPMethod, path)?.store as EndpointRule | undefined;
  }
}
