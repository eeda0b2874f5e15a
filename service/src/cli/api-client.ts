import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { Command } from 'commander';
import { SOCKET_DIR, SOCKET_NAME } from '../auth/local-socket.js';

export interface ApiOptions { url?: string; token?: string; socket?: string; ca?: string }

const DEFAULT_URL = 'http://127.0.0.1:8080';

/** The options every command that calls a running gateway takes. */
export function withApiOptions(command: Command): Command {
  return command
    .option('--url <url>', `base URL of the gateway (default: the local socket when this user can open it, else ${DEFAULT_URL})`)
    .option('--token <token>', 'API token (default $BACKWORKS_TOKEN); not needed on the local socket')
    .option('--socket <path>', `the gateway's local admin socket (default $STATE_DIRECTORY or /var/lib/backworks, then ${SOCKET_DIR}/${SOCKET_NAME})`)
    .option('--ca <file>', 'PEM certificate to trust for an https URL (the generated one is STATE_DIR/tls/cert.pem)');
}

/** Where the request goes, said in error messages. */
export function describeTarget(opts: ApiOptions): string {
  const socket = localSocket(opts);
  return socket ? `the local socket ${socket}` : (opts.url ?? DEFAULT_URL);
}

/**
 * One request to the gateway's API: over the local socket (admin, as root or the service user on
 * the box) unless a URL is given, else over HTTP(S) with the token.
 */
export function callApi(opts: ApiOptions, method: string, route: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const socket = localSocket(opts);
  const url = new URL(route, socket ? 'http://localhost' : (opts.url ?? DEFAULT_URL));
  const token = opts.token ?? process.env.BACKWORKS_TOKEN;
  const headers: Record<string, string> = {};
  if (!socket && token) headers.authorization = `Bearer ${token}`;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method, headers, timeout: timeoutMs,
      ...(socket ? { socketPath: socket } : {}),
      ...(opts.ca ? { ca: fs.readFileSync(opts.ca) } : {}),
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => {
        let body: unknown = text;
        try { body = JSON.parse(text); } catch { /* not JSON: kept as text */ }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The socket to use: given, or the default one when no URL is given and this user may open it. */
function localSocket(opts: ApiOptions): string | undefined {
  if (opts.url && !opts.socket) return undefined;
  const socket = opts.socket ?? path.join(process.env.STATE_DIRECTORY ?? '/var/lib/backworks', SOCKET_DIR, SOCKET_NAME);
  if (opts.socket) return socket;
  try {
    fs.accessSync(socket, fs.constants.W_OK);
    return socket;
  } catch {
    return undefined;
  }
}

/** What to say when the gateway refuses the credential. */
export function authHint(status: number, body: unknown): string | undefined {
  if (status !== 401 && status !== 403) return undefined;
  const message = (body as { error?: string })?.error ?? `HTTP ${status}`;
  return `${message}\npass --token (or set BACKWORKS_TOKEN) with a token from "backworks token create --role technician", or run as root on the box to use the local socket`;
}
