/** What a `waitFor` check answers while the awaited thing has not happened yet. */
type NotYet = undefined | null | false;

/**
 * Polls `check` every `intervalMs` until it answers something other than undefined, null or false
 * (0 and '' are answers) and resolves to that answer. After `timeoutMs` it rejects with
 * `timed out after <timeoutMs>ms waiting for <what>`. A check that throws or rejects ends the wait
 * at once with its error: a broken check should fail the test now, not after the timeout.
 */
export async function waitFor<T>(what: string, check: () => T | NotYet | Promise<T | NotYet>, { timeoutMs = 15_000, intervalMs = 25 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
