/** A Sparkplug 3.0 host application's STATE: JSON {"online": boolean, "timestamp": ms}. */
export interface HostState {
  online: boolean;
  timestamp: number;
}

/** The STATE payload, or undefined when it is not the 3.0 JSON form. */
export function parseState(bytes: Buffer): HostState | undefined {
  try {
    const state = JSON.parse(bytes.toString('utf8')) as Partial<HostState>;
    if (typeof state?.online !== 'boolean' || typeof state.timestamp !== 'number') return undefined;
    return { online: state.online, timestamp: state.timestamp };
  } catch {
    return undefined;
  }
}
