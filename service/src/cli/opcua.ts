import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { moduleExtension, packsRoot } from '../paths.js';

/** `backworks opcua browse URL`: lists a server's nodes (from the manufacturing/opcua pack). */
export function registerOpcuaCommands(program: Command): void {
  const opcua = program.command('opcua').description('OPC UA servers: browse their address space to write points');
  opcua.command('browse')
    .argument('<url>', 'server endpoint, e.g. opc.tcp://192.168.1.50:4840')
    .option('--node <nodeId>', 'where to start', 'i=85')
    .option('--depth <n>', 'how many levels of objects to descend', '3')
    .option('--security <mode>', 'None, Sign or SignAndEncrypt', 'None')
    .option('--user <name>', 'user name (anonymous without it)')
    .option('--password <password>', 'password of --user')
    .option('--json', 'print the nodes as JSON')
    .action(async (url: string, opts: { node: string; depth: string; security: string; user?: string; password?: string; json?: boolean }) => {
      const { browse, formatBrowse } = await import(pathToFileURL(path.join(packsRoot, 'manufacturing/opcua', `browse${moduleExtension}`)).href) as typeof import('../../../packs/manufacturing/opcua/browse.js');
      try {
        const nodes = await browse(url, {
          node: opts.node, depth: Number(opts.depth), securityMode: opts.security as 'None', username: opts.user, password: opts.password,
        });
        process.stdout.write(opts.json ? `${JSON.stringify(nodes)}\n` : `${formatBrowse(nodes)}\n`);
      } catch (err) {
        process.stderr.write(`cannot browse ${url}: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
