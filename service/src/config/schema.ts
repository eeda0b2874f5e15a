import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration, Size } from '../../../sdk/typescript/typebox.js';
import { NAME_PATTERN } from '../../../sdk/typescript/units.js';
import { DataEndpointSchema } from './sections/data-endpoint.js';
import { FleetSchema } from './sections/fleet.js';
import { GatewayIdentitySchema } from './sections/gateway.js';
import { StorageSchema } from './sections/storage.js';
import { PluginTrustSchema } from './sections/plugin-trust.js';
import { EndpointAuthSchema, ServerMetricsSchema, ServerTlsSchema } from './sections/auth.js';

/**
 * The one definition of backworks.yaml: validation (ajv), TypeScript types (Static) and the
 * published JSON Schema (`backworks schema`, service/schema/backworks.schema.json) all come from here.
 */


const Strict = { additionalProperties: false } as const;
const Optional = <T extends TSchema>(schema: T) => Type.Optional(schema);

export { NAME_PATTERN };
export const PACK_PATTERN = '^[a-z0-9-]+/[a-z0-9-]+$';
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

export const PluginSchema = Type.Object({
  type: Type.Union([Type.Literal('external'), Type.Literal('builtin'), Type.Literal('typescript')], {
    description: 'external: a native library (.so/.dylib/.dll) at `path`; builtin: a TypeScript plugin from packs/ named by `pack`; typescript: a TypeScript plugin built outside the repo against @backworks/plugin-sdk, loaded from `module`',
  }),
  path: Optional(Type.String({ minLength: 1, description: 'native library, relative to this file; without it, the library in plugin_discovery.directories whose descriptor has this plugin\'s name' })),
  pack: Optional(Type.String({ pattern: PACK_PATTERN, description: 'INDUSTRY/NAME of a plugin in packs/, e.g. manufacturing/modbus' })),
  module: Optional(Type.String({ minLength: 1, description: 'typescript plugins: the compiled JavaScript module (ES module, default export = plugin factory), relative to this file, e.g. my-pack/dist/index.js' })),
  enabled: Optional(Type.Boolean({ default: true })),
  critical: Optional(Type.Boolean({ default: false, description: 'a critical plugin that is down makes /health answer 503, and its hook failures reject requests' })),
  config: Optional(Type.Record(Type.String(), Type.Unknown(), { description: "the plugin's own settings, checked against its schema" })),
  timeout: Optional(Duration('deadline of every call into the plugin', '2s')),
  init_timeout: Optional(Duration('deadline of initialize (it may connect to devices); a plugin that misses it is failed and the others run', '30s')),
  failure_threshold: Optional(Type.Integer({ minimum: 1, default: 5, description: 'consecutive failures that open the circuit breaker' })),
  recovery_timeout: Optional(Duration('time the breaker stays open before a probe call', '30s')),
  isolation: Optional(Type.Union([Type.Literal('process'), Type.Literal('none')], {
    default: 'process', description: 'native plugins: own host process (process) or loaded into the service (none)',
  })),
  limits: Optional(Type.Object({
    memory: Optional(Size('address space of the plugin host process')),
    concurrency: Optional(Type.Integer({ minimum: 1, description: 'calls in flight at once; more are refused with 503' })),
  }, Strict)),
  restart: Optional(Type.Object({
    backoff: Optional(Duration('first restart delay, doubled after each crash', '200ms')),
    max_backoff: Optional(Duration('longest restart delay', '30s')),
    max_crashes: Optional(Type.Integer({ minimum: 1, default: 5, description: 'crashes within `window` that quarantine the plugin' })),
    window: Optional(Duration('window in which crashes are counted', '60s')),
  }, { ...Strict, default: {} })),
}, Strict);

export const EndpointSchema = Type.Object({
  path: Type.String({ pattern: '^/', description: 'URL path; `:name` marks a parameter, e.g. /devices/:id' }),
  methods: Optional(Type.Array(Type.Union(HTTP_METHODS.map((m) => Type.Literal(m))), { minItems: 1, uniqueItems: true, default: ['GET'] })),
  plugin: Optional(Type.String({ description: 'the plugin that answers; without it, plugins are asked in declared order' })),
  data: Optional(DataEndpointSchema),
  description: Optional(Type.String()),
  timeout: Optional(Duration("deadline of this endpoint's plugin call (default: the plugin's timeout)")),
  ...EndpointAuthSchema,
}, Strict);

export const ServerSchema = Type.Object({
  host: Optional(Type.String({ default: '0.0.0.0' })),
  port: Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 8080 })),
  body_limit: Optional(Size('largest request body accepted', '1MB')),
  tls: Optional(ServerTlsSchema),
  metrics: Optional(ServerMetricsSchema),
}, { ...Strict, default: {} });

export const ConfigSchema = Type.Object({
  server: Optional(ServerSchema),
  logging: Optional(Type.Object({
    level: Optional(Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => Type.Literal(l)), { default: 'info' })),
  }, Strict)),
  state_dir: Optional(Type.String({ description: 'writable directory for the buffer and plugin state (default: $STATE_DIRECTORY, else .state beside this file)' })),
  watch_config: Optional(Type.Boolean({ default: false, description: 'reload automatically when this file changes (an invalid edit is refused and the running config stays)' })),
  health: Optional(Type.Object({
    interval: Optional(Duration('how often every plugin health check runs', '10s')),
  }, { ...Strict, default: {} })),
  plugin_discovery: Optional(Type.Object({
    directories: Type.Array(Type.String(), { description: 'folders (relative to this file) of native plugin libraries; an external plugin without path is the one whose descriptor has its name' }),
  }, Strict)),
  gateway: Optional(GatewayIdentitySchema),
  storage: Optional(StorageSchema),
  fleet: Optional(FleetSchema),
  plugin_trust: Optional(PluginTrustSchema),
  plugins: Optional(Type.Record(Type.String({ pattern: NAME_PATTERN }), PluginSchema, Strict)),
  endpoints: Optional(Type.Record(Type.String({ pattern: NAME_PATTERN }), EndpointSchema, Strict)),
}, { ...Strict, title: 'backworks.yaml', $id: 'https://backworks.dev/schema/backworks.schema.json' });

export type BackworksConfig = Static<typeof ConfigSchema>;
export type PluginConfig = Static<typeof PluginSchema>;
export type EndpointConfig = Static<typeof EndpointSchema>;
