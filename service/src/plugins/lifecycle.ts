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
  /** Jobs asked and not finished; 0: a job asked now begins at once. */
  private unfinished = 0;
  /** Jobs asked but not begun, by key. */
  private readonly waiting = new Map<string, Promise<unknown>>();
  private closed = false;

  /** Runs `job` after every job asked before it; joins a waiting job of the same key. */
  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const joined = this.waiting.get(key);
    if (joined) return joined as Promise<T>;
    if (this.closed) return Promise.reject(stopping(key));
    const begin = async (): Promise<T> => {
      this.waiting.delete(key);
      try {
        if (this.closed && key !== CLOSE) throw stopping(key);
        return await job();
      } finally {
        this.unfinished--;
      }
    };
    const idle = this.unfinished++ === 0;
    const result = idle ? begin() : this.tail.catch(() => undefined).then(begin);
    if (!idle) this.waiting.set(key, result);
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

function stopping(key: string): Error {
  return new Error(`the gateway is stopping; ${key} not done`);
}
