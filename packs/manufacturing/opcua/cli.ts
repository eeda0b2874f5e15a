import type { PackCommand } from '../../../sdk/typescript/index.js';

/** `backworks opcua browse URL`: lists a server's nodes, to write the points of a config. */
export const commands: PackCommand[] = [{
  group: 'opcua',
  groupDescription: 'OPC UA servers: browse their address space to write points',
  name: 'browse',
  description: "lists a server's objects and variables (node id, browse name, data type)",
  arguments: [{ name: 'url', description: 'server endpoint, e.g. opc.tcp://192.168.1.50:4840' }],
  options: [
    { flags: '--node <nodeId>', description: 'where to start', default: 'i=85' },
    { flags: '--depth <n>', description: 'how many levels of objects to descend', default: '3' },
    { flags: '--security <mode>', description: 'None, Sign or SignAndEncrypt', default: 'None' },
    { flags: '--user <name>', description: 'user name (anonymous without it)' },
    { flags: '--password <password>', description: 'password of --user' },
    { flags: '--json', description: 'print the nodes as JSON' },
  ],
  async run([url], opts) {
    // node-opcua loads only when the command runs, not on every `backworks` start.
    const { browse, formatBrowse } = await import('./browse.js');
    try {
      const nodes = await browse(url, {
        node: String(opts.node), depth: Number(opts.depth), securityMode: opts.security as 'None',
        username: opts.user as string | undefined, password: opts.password as string | undefined,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(nodes)}\n` : `${formatBrowse(nodes)}\n`);
      return 0;
    } catch (err) {
      process.stderr.write(`cannot browse ${url}: ${(err as Error).message}\n`);
      return 1;
    }
  },
}];
