/**
 * Every error Backworks reports, in one place: a code, a message template and an HTTP status.
 * test/internals/errors.test.ts checks that the README's error table lists exactly these codes.
 */
export interface ErrorSpec {
  readonly message: string;
  readonly status: number;
  /** Sent as Retry-After: the condition passes by itself. */
  readonly retryAfterS?: number;
}

export const ERRORS = {
  // config
  BW_ERR_CONFIG_NOT_FOUND: { message: 'configuration file not found: %s', status: 500 },
  BW_ERR_CONFIG_INVALID: { message: '%s', status: 500 },
  BW_ERR_CONFIG_READ_ONLY: { message: 'the service may not write %s (%s): edit %s on the box and run backworks reload, or let the service write that folder (systemd: ReadWritePaths=)', status: 409 },
  // http
  BW_ERR_HTTP_NOT_FOUND: { message: 'no plugin answered %s %s', status: 404 },
  BW_ERR_HTTP_BODY_TOO_LARGE: { message: 'request body is larger than %s bytes', status: 413 },
  BW_ERR_HTTP_BAD_REQUEST: { message: '%s', status: 400 },
  BW_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: { message: '%s %s takes Content-Type: %s, got "%s"', status: 415 },
  // authentication and roles (service/src/auth)
  BW_ERR_AUTH_REQUIRED: { message: '%s %s needs a credential: send "Authorization: Bearer TOKEN" (backworks token create --role viewer) or log in', status: 401 },
  BW_ERR_AUTH_INVALID: { message: 'the %s is unknown, revoked or expired', status: 401 },
  BW_ERR_AUTH_FORBIDDEN: { message: '%s %s needs the %s role; %s "%s" has %s', status: 403 },
  BW_ERR_AUTH_CSRF: { message: '%s with a session cookie needs the X-CSRF-Token header of that session (from the login answer or GET /api/auth/session)', status: 403 },
  BW_ERR_AUTH_LOGIN_FAILED: { message: 'wrong user name or password', status: 401 },
  BW_ERR_AUTH_RATE_LIMITED: { message: 'too many failed logins from this address or for this user; try again in %s s', status: 429 },
  BW_ERR_AUTH_SETUP: { message: '%s', status: 401 },
  BW_ERR_AUTH_CREDENTIALS: { message: '%s', status: 400 },
  // plugins
  BW_ERR_PLUGIN_UNAVAILABLE: { message: 'plugin "%s" is unavailable (%s)', status: 503 },
  BW_ERR_PLUGIN_STARTING: { message: 'plugin "%s" is starting; try again in a moment', status: 503, retryAfterS: 1 },
  BW_ERR_PLUGIN_TIMEOUT: { message: 'plugin "%s" missed its %sms deadline in %s', status: 504 },
  BW_ERR_PLUGIN_FAILED: { message: 'plugin "%s" failed in %s: %s', status: 500 },
  BW_ERR_PLUGIN_HOOK_REJECTED: { message: 'critical plugin "%s" rejected the request in %s: %s', status: 502 },
  BW_ERR_PLUGIN_NOT_WRITABLE: { message: 'no plugin owns device "%s" or it does not accept writes', status: 404 },
  BW_ERR_PLUGIN_LOAD: { message: 'cannot load plugin "%s": %s', status: 500 },
  // native plugins (service/src/plugins/native)
  BW_ERR_NATIVE_FILE: { message: 'cannot read plugin library %s: %s', status: 500 },
  BW_ERR_NATIVE_ELF: { message: '%s cannot be loaded on this machine: %s', status: 500 },
  BW_ERR_NATIVE_DLOPEN: { message: 'cannot open %s: %s', status: 500 },
  BW_ERR_NATIVE_NOT_A_PLUGIN: { message: '%s: %s', status: 500 },
  BW_ERR_NATIVE_ABI_MISMATCH: { message: '%s: %s', status: 500 },
  BW_ERR_NATIVE_BAD_DESCRIPTOR: { message: '%s: invalid descriptor: %s', status: 500 },
  BW_ERR_NATIVE_CREATE: { message: '%s: %s', status: 500 },
  BW_ERR_NATIVE_HOST: { message: 'plugin host for %s failed: %s', status: 500 },
  BW_ERR_NATIVE_DUPLICATE: { message: 'plugin name "%s" is provided by both %s and %s', status: 500 },
  BW_ERR_NATIVE_BUSY: { message: 'plugin "%s" is unavailable (concurrency limit of %s calls reached)', status: 503 },
  // plugin trust: signatures and the registry (service/src/trust)
  BW_ERR_TRUST_UNSIGNED: { message: '%s is not signed (no %s); plugin_trust.require_signed refuses unsigned plugins', status: 500 },
  BW_ERR_TRUST_BAD_SIGNATURE_FILE: { message: 'signature file %s: %s', status: 500 },
  BW_ERR_TRUST_UNKNOWN_KEY: { message: '%s is signed by key %s, which is not in plugin_trust.keys', status: 500 },
  BW_ERR_TRUST_BAD_SIGNATURE: { message: '%s: the signature does not verify with key %s (the manifest or signature was altered)', status: 500 },
  BW_ERR_TRUST_TAMPERED: { message: '%s does not match its signed manifest: %s', status: 500 },
  BW_ERR_TRUST_MISMATCH: { message: '%s: %s', status: 500 },
  BW_ERR_TRUST_KEY: { message: 'key %s: %s', status: 500 },
  BW_ERR_REGISTRY_FETCH: { message: 'cannot fetch %s: %s', status: 502 },
  BW_ERR_REGISTRY_BAD_INDEX: { message: 'registry index %s: %s', status: 502 },
  BW_ERR_REGISTRY_EXPIRED: { message: 'registry index %s expired at %s; the publisher must re-sign it', status: 502 },
  BW_ERR_REGISTRY_ROLLBACK: { message: '%s', status: 409 },
  BW_ERR_REGISTRY_NOT_FOUND: { message: '%s', status: 404 },
  // buffer and data API (service/src/buffer, service/src/http/api-devices.ts)
  BW_ERR_BUFFER_REFUSED: { message: 'the buffer could not commit (disk %s): %s', status: 503 },
  BW_ERR_DATA_UNKNOWN_DEVICE: { message: 'no readings from device "%s"', status: 404 },
  BW_ERR_DATA_UNKNOWN_POINT: { message: 'device "%s" has no point "%s"', status: 404 },
  BW_ERR_DATA_BAD_QUERY: { message: '%s', status: 400 },
  // fleet link commands (service/src/uplink)
  BW_ERR_FLEET_UNKNOWN_COMMAND: { message: 'unknown command "%s"; known: %s', status: 404 },
  BW_ERR_FLEET_COMMAND_DISABLED: { message: 'command "%s" is switched off in fleet.commands', status: 403 },
  BW_ERR_FLEET_BAD_COMMAND: { message: 'command "%s": %s', status: 400 },
  BW_ERR_FLEET_COMMAND_FAILED: { message: 'command "%s" failed: %s', status: 500 },
  BW_ERR_FLEET_RATE_LIMITED: { message: 'command "%s" refused: over fleet.commands.rate_limit for this sender; wait and send again', status: 429 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** An error with a stable code and an HTTP status; `{error, status, code}` is what clients see. */
export class BackworksError extends Error {
  readonly status: number;
  constructor(readonly code: ErrorCode, ...args: Array<string | number>) {
    const spec = ERRORS[code];
    let i = 0;
    super(spec.message.replace(/%s/g, () => String(args[i++] ?? '')));
    this.name = 'BackworksError';
    this.status = spec.status;
  }
}
