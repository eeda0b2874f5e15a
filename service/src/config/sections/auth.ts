import { Type } from '@sinclair/typebox';

const Strict = { additionalProperties: false } as const;

/** `server.tls`: the certificate the gateway serves HTTPS with. */
export const ServerTlsSchema = Type.Object({
  cert: Type.String({ minLength: 1, description: 'PEM certificate (chain), relative to this file' }),
  key: Type.String({ minLength: 1, description: 'PEM private key, relative to this file; readable by the service user only' }),
}, { ...Strict, description: 'serve HTTPS with this certificate; without it, listening beyond loopback uses a self-signed certificate generated in state_dir/tls' });

/** `server.metrics`: who may scrape /metrics. */
export const ServerMetricsSchema = Type.Object({
  auth: Type.Optional(Type.Union([Type.Literal('token'), Type.Literal('loopback')], {
    default: 'token', description: 'token: a viewer credential; loopback: also open, without one, to a Prometheus on this machine (127.0.0.1, ::1)',
  })),
}, Strict);

/** `endpoints.NAME.auth` and `.role`. */
export const EndpointAuthSchema = {
  auth: Type.Optional(Type.Union([Type.Literal('token'), Type.Literal('none')], {
    default: 'token', description: 'token: callers need a credential of `role`; none: open to anyone who reaches the port (check warns beyond loopback)',
  })),
  role: Type.Optional(Type.Union([Type.Literal('viewer'), Type.Literal('technician'), Type.Literal('admin')], {
    description: 'role a caller needs (default: viewer for GET and HEAD, technician for other methods)',
  })),
};
