/**
 * The wait before retry number `attempt` (0 for the first retry): `initialMs` doubled per attempt
 * up to `maxMs`, then a random point in its upper half, so that many gateways or plugins failing
 * together (a broker restart, a power cut) do not retry in lockstep yet never wait less than half.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.round(ceiling * (0.5 + Math.random() * 0.5));
}
