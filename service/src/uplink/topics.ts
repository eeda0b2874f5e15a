/** The fleet link's topics, all under backworks/{site}/{id}/. */
export class Topics {
  readonly root: string;
  constructor(site: string, id: string) {
    this.root = `backworks/${site}/${id}`;
  }
  get status(): string { return `${this.root}/status`; }
  get health(): string { return `${this.root}/health`; }
  get commands(): string { return `${this.root}/cmd/+`; }
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
