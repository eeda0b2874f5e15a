/** The roles of the control plane, weakest first: each role may do everything the ones before it may. */
export const ROLES = ['viewer', 'technician', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, technician: 1, admin: 2 };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `held` is `needed` or stronger. */
export function satisfies(held: Role, needed: Role): boolean {
  return RANK[held] >= RANK[needed];
}

/** Who made a request, as the guard identified them. `name` is a user name, a token's name, or "local". */
export interface Principal {
  name: string;
  role: Role;
  via: 'session' | 'bearer' | 'socket';
  /** Sessions only: the token a state-changing request must echo in X-CSRF-Token. */
  csrf?: string;
}
