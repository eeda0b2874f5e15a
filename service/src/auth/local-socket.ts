import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

export const SOCKET_DIR = 'run';
export const SOCKET_NAME = 'backworks.sock';

/**
 * The CLI's way in on the box: an HTTP server on a Unix socket in `STATE_DIR/run/` (0700, owned by
 * the service user), serving the same routes as the network listener. Node cannot read a peer's
 * credentials (SO_PEERCRED), so the file system is the check: only the service user and root can
 * open the folder, and whoever can is admin. Requests it accepts are marked by their socket.
 */
export class LocalSocket {
  readonly sockets = new WeakSet<Socket>();
  readonly path: string;
  private server: http.Server | undefined;

  constructor(stateDir: string) {
    this.path = path.join(stateDir, SOCKET_DIR, SOCKET_NAME);
  }

  async listen(app: FastifyInstance): Promise<void> {
    const dir = path.dirname(this.path);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    fs.rmSync(this.path, { force: true }); // left by a killed service; the folder is ours alone
    const server = http.createServer((req, res) => app.routing(req, res));
    server.on('connection', (socket) => this.sockets.add(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => { server.off('error', reject); resolve(); });
    });
    fs.chmodSync(this.path, 0o600);
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(this.path, { force: true });
  }
}
