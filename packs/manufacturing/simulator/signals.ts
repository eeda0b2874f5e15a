export type Signal = (elapsedMs: number) => number;

interface SignalOptions {
  min: number;
  max: number;
  periodMs: number;
}

/** Deterministic shapes (except random) so that a test can predict what a point reports. */
export const signals: Record<'sine' | 'ramp' | 'random' | 'counter', (o: SignalOptions) => Signal> = {
  sine: ({ min, max, periodMs }) => (t) => round(min + ((max - min) * (1 + Math.sin((2 * Math.PI * t) / periodMs))) / 2),
  ramp: ({ min, max, periodMs }) => (t) => round(min + ((max - min) * (t % periodMs)) / periodMs),
  random: ({ min, max }) => () => round(min + Math.random() * (max - min)),
  counter: ({ min }) => {
    let n = min;
    return () => n++;
  },
};

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
