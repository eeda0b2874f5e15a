import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../buffer/audit.js';
import type { BackworksConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { authApi } from './api.js';
import { installAudit } from './audit.js';
import { CredentialStore } from './credentials.js';
import { EndpointRoles } from './endpoint-roles.js';
import { exposureWarnings } from './exposure.js';
import { installGuard } from './guard.js';
import { LocalSocket } from './local-socket.js';
import { LoginLimiter } from './login-limiter.js';
import { Sessions } from './sessions.js';

export interface ControlPlaneOptions {
  stateDir: string;
  log: Logger;
  audit: AuditLog;
  server: BackworksConfig['server'];
  /** The address the server listens on (config or --host). */
  host: string;
}

/**
 * Authentication, roles and the audit trail of one gateway's HTTP API, wired into its fastify
 * instance: the guard (who may call what), the audit hook, the auth routes, and the local socket.
 * Install before any route is registered: the guard checks each one as it is added.
 */
export class ControlPlane {
  readonly credentials: CredentialStore;
  readonly sessions = new Sessions();
  readonly limiter = new LoginLimiter();
  readonly endpoints = new EndpointRoles();
  readonly local: LocalSocket;
  /** Every route of the server, by method: filled as they are registered. */
  routes: ReadonlyArray<{ method: string; url: string }> = [];
  private setupTokenFile: string | undefined;

  constructor(private readonly options: ControlPlaneOptions) {
    this.credentials = new CredentialStore(options.stateDir);
    this.local = new LocalSocket(options.stateDir);
  }

  install(app: FastifyInstance): void {
    const { log, audit, server } = this.options;
    this.routes = installGuard(app, {
      credentials: this.credentials,
      sessions: this.sessions,
      endpoints: this.endpoints,
      localSockets: this.local.sockets,
      metricsOpenToLoopback: server?.metrics?.auth === 'loopback',
    });
    installAudit(app, audit, log);
    void app.register(authApi, { credentials: this.credentials, sessions: this.sessions, limiter: this.limiter, audit, log });
  }

  /** The endpoints' auth rules; says which are open beyond loopback. */
  useEndpoints(config: BackworksConfig): void {
    this.endpoints.replace(config.endpoints);
    for (const warning of exposureWarnings(config, this.options.host)) this.options.log.warn(warning);
  }

  /** After the server listens: the setup token when no admin exists, the file watch, the local socket. */
  async start(app: FastifyInstance): Promise<void> {
    const { log } = this.options;
    this.setupTokenFile = this.credentials.ensureSetupToken();
    if (this.setupTokenFile) {
      log.warn({ setup_token_file: this.setupTokenFile }, `no admin user yet: the one-time setup token is in ${this.setupTokenFile} (readable by root and the service user); `
        + 'create the first admin with POST /api/auth/setup {"setup_token", "user", "password"}, or on the box: backworks user add NAME --role admin');
    }
    this.credentials.watch((err) => log.error({ err: err.message }, 'credentials file changed but cannot be read; the previous credentials stay'));
    await this.local.listen(app);
    log.info({ socket: this.local.path }, 'local admin socket listening (owner only)');
  }

  /** What /health tells an anonymous caller besides the state: that setup is waiting, and where its token is. */
  openHealth(): Record<string, unknown> {
    if (!this.setupTokenFile || !this.credentials.setupPending) return {};
    return { setup: { pending: true, token_file: this.setupTokenFile } };
  }

  async stop(): Promise<void> {
    this.credentials.close();
    await this.local.close();
  }
}
