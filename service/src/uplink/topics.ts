/** The fleet link's topics, all under backworks/{site}/{id}/. */
export class Topics {
  readonly root: string;
  constructor(site: string, id: string) {
    this.root = `backworks/${site}/${id}`;
  }
  get status(): string { return `${this.root}/status`; }
  get health(): string { return `${this.root}/health`; }
  /** cmd/# rather than cmd/+: a command with extra levels (cmd/ping/extra) is answered with an error, not ignored. */
  get commands(): string { return `${this.root}/cmd/#`; }
  data(device: string): string { return `${this.root}/data/${topicLevel(device)}`; }
  /** The command name of a cmd/{name} topic, or undefined for any other topic. */
  commandName(topic: string): string | undefined {
    const prefix = `${this.root}/cmd/`;
    return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
  }
}

/** A device name as one topic level: `/`, `+`, `#` and `%` are percent-encoded, nothing else changes. */
export function topicLevel(name: string): string {
  return name.replace(/[%/+#\u0000]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/**
 * Why a command's MQTT 5 response topic is refused, or undefined when it may be answered on: it must
 * be a topic name (no `+` or `#`, which a broker refuses in a PUBLISH and drops the connection for),
 * not a `$` system topic, and start with one of `prefixes` when those are configured.
 */
export function responseTopicProblem(topic: string, prefixes: readonly string[]): string | undefined {
  if (topic === '') return 'is empty';
  if (/[+#\u0000]/.test(topic)) return 'holds a wildcard (+ or #) or NUL: answers go to one topic name';
  if (topic.startsWith('$')) return 'is a $ system topic';
  if (Buffer.byteLength(topic) > 1024) return 'is over 1024 bytes';
  if (prefixes.length > 0 && !prefixes.some((p) => topic.startsWith(p))) return `is outside fleet.commands.response_prefixes (${prefixes.join(', ')})`;
  return undefined;
}
