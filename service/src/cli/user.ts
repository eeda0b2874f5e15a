import type { Command } from 'commander';
import { CredentialsError } from '../auth/credentials.js';
import { readPassword } from './password-input.js';
import { stateDirOf } from './state-dir.js';

const CONFIG_HELP = 'configuration file whose state_dir holds the credentials (default ./backworks.yaml, then /etc/backworks/backworks.yaml)';

/**
 * `backworks user add|passwd|remove|list`: local users of the gateway, written straight to the
 * credentials file in its state directory (run as root or the service user on the box; the
 * running service sees the change at once).
 */
export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('manage the users who log in to the gateway (passwords hashed with scrypt in STATE_DIR/credentials.json)');

  user.command('add <name>')
    .description('add a user; the password is read from the terminal (twice) or the first line of stdin')
    .requiredOption('--role <role>', 'viewer, technician or admin')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts: { role: string; config?: string; json?: boolean }) => run(opts, async (store) => {
      store.checkNewUser(name, opts.role); // mistakes in the name or role before the password is asked for
      const info = await store.addUser(name, opts.role, await readPassword(`password for ${name}`));
      return { result: info, text: `user "${info.name}" added with role ${info.role}` };
    }));

  user.command('passwd <name>')
    .description("set a user's password (read from the terminal, twice, or the first line of stdin)")
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts: { config?: string; json?: boolean }) => run(opts, async (store) => {
      await store.setPassword(name, await readPassword(`new password for ${name}`));
      return { result: { user: name, changed: true }, text: `password of "${name}" changed` };
    }));

  user.command('remove <name>')
    .description('remove a user')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, opts: { config?: string; json?: boolean }) => run(opts, async (store) => {
      store.removeUser(name);
      return { result: { user: name, removed: true }, text: `user "${name}" removed` };
    }));

  user.command('list')
    .description('list the users and their roles')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'print the list as JSON')
    .action(async (opts: { config?: string; json?: boolean }) => run(opts, async (store) => {
      const users = store.users();
      return {
        result: { users },
        text: users.length ? users.map((u) => `${u.name.padEnd(24)} ${u.role.padEnd(10)} password set ${u.changed}`).join('\n') : 'no users yet (backworks user add NAME --role admin)',
      };
    }));
}

type Store = import('../auth/credentials.js').CredentialStore;

/** Opens the store of the configured gateway, runs one change, prints text or JSON; usage mistakes exit 2. */
export async function run(opts: { config?: string; json?: boolean }, action: (store: Store) => Promise<{ result: unknown; text: string }>): Promise<void> {
  const { CredentialStore } = await import('../auth/credentials.js');
  try {
    const store = new CredentialStore(await stateDirOf(opts.config));
    const { result, text } = await action(store);
    process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${text}\n`);
  } catch (err) {
    if (opts.json) process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
    else process.stderr.write(`backworks: ${(err as Error).message}\n`);
    process.exitCode = err instanceof CredentialsError ? 2 : 1;
  }
}
