import { topicLevel } from '../topics.js';

export const NAMESPACE = 'spBv1.0';

/** One edge node's Sparkplug B topics: spBv1.0/{group}/{verb}/{node}[/{device}]. */
export class SparkplugTopics {
  constructor(readonly group: string, readonly node: string) {}
  node_(verb: 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD'): string { return `${NAMESPACE}/${this.group}/${verb}/${this.node}`; }
  device(verb: 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD', device: string): string { return `${NAMESPACE}/${this.group}/${verb}/${this.node}/${topicLevel(device)}`; }
  get deviceCommands(): string { return `${NAMESPACE}/${this.group}/DCMD/${this.node}/+`; }
  /** The device of a DCMD topic (its level decoded again), or undefined for another topic. */
  commandDevice(topic: string): string | undefined {
    const prefix = `${NAMESPACE}/${this.group}/DCMD/${this.node}/`;
    return topic.startsWith(prefix) ? decodeURIComponent(topic.slice(prefix.length)) : undefined;
  }
}

/** The Sparkplug 3.0 STATE topic of a host application. */
export function stateTopic(hostId: string): string {
  return `${NAMESPACE}/STATE/${hostId}`;
}
