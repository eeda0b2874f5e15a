import type { Command } from 'commander';
import { run } from './user.js';

const CONFIG_HELP = 'configuration file whose state_dir holds the credentials (default ./backworks.yaml, then /etc/backworks/backworks.yaml)';

/**
 * `backworks token create|revoke|list`: API tokens for scripts (Authorization: Bearer TOKEN).
 * A token is shown once, by `create`; only its hash is kept.
 */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage API tokens for scripts (sent as "Authorization: Bearer TOKEN"; only their hash is stored)');

  token.command('create')
    .description('create a token and print it (once: it is not stored); the running gateway accepts it at once')
    .requiredOption('--role <role>', 'viewer, technician or admin')
    .option('--name <name>', 'what the token is for, shown in lists and audit rows (default ROLE-token)')
    .option('--expires <duration>', 'lifetime, e.g. 12h, 30d (default: until revoked)')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'print the token and its details as JSON')
    .action(async (opts: { role: string; name?: string; expires?: string; config?: string; json?: boolean }) => run(opts, async (store) => {
      const created = store.createToken({ role: opts.role, name: opts.name, expires: opts.expires });
      // Only the token on stdout, so that TOKEN=$(backworks token create …) works; the rest on stderr.
      process.stderr.write(`token ${created.id} "${created.name}" (${created.role}${created.expires ? `, expires ${created.expires}` : ''}); it is shown only now:\n`);
      return { result: created, text: created.token };
    }));

  token.command('revoke <id-or-name>')
    .description('revoke a token by its id (from token list) or its name; requests with it answer 401 from then on')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (idOrName: string, opts: { config?: string; json?: boolean }) => run(opts, async (store) => {
      const revoked = store.revokeToken(idOrName);
      return { result: { ...revoked, revoked: true }, text: `token ${revoked.id} "${revoked.name}" revoked` };
    }));

  token.command('list')
    .description('list the tokens (never their secret)')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--json', 'print the list as JSON')
    .action(async (opts: { config?: string; json?: boolean }) => run(opts, async (store) => {
      const tokens = store.tokens();
      return {
        result: { tokens },
        text: tokens.length
          ? tokens.map((t) => `${t.id}  ${t.name.padEnd(24)} ${t.role.padEnd(10)} ${t.expires ? `${t.expired ? 'expired' : 'expires'} ${t.expires}` : 'no expiry'}`).join('\n')
          : 'no tokens (backworks token create --role viewer --name NAME)',
      };
    }));
}
