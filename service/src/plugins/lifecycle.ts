/**
 * One queue for everything that creates or ends plugin instances (reconcile, reload,
 * plugin-restart, shutdown): jobs run one at a time, in the order asked, so two of them never
 * decide about the same instance at once (two restarts at once each saw the old instance, each
 * replaced it, and one new instance was never stopped).
 *
 * A job asked while an identical one (same key) is waiting and not yet begun joins it: twenty
 * restarts of one plugin asked at once cost at most two (the one running, and one after it, which
 * sees every request made while the first ran).
 */
export class LifecycleQueue {
  private tail: Promise<unknown> = Promise.resolve();
  /** Jobs asked but not begun, by key. */
  private readonly waiting = new Map<string, Promise<unknown>>();
  private closed = false;

  /** Runs `job` after every job asked before it; joins a waiting job of the same key. */
  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const joined = this.waiting.get(key);
    if (joined) return joined as Promise<T>;
    if (this.closed) return Promise.reject(new Error(`the gateway is stopping; ${key} not done`));
    const result = this.tail.catch(() => undefined).then(() => {
      this.waiting.delete(key);
      if (this.closed && key !== CLOSE) throw new Error(`the gateway is stopping; ${key} not done`);
      return job();
    });
    this.waiting.set(key, result);
    this.tail = result;
    return result;
  }

  /**
   * The last job: runs after the one in progress; jobs still waiting are refused (the gateway
   * is stopping, they would start instances only to stop them), and none is taken afterwards.
   */
  close<T>(job: () => Promise<T>): Promise<T> {
    const result = this.run(CLOSE, job);
    this.closed = true;
    return result;
  }
}

const CLOSE = 'shutdown';
