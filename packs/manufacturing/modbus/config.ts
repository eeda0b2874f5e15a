import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration } from '../../../sdk/typescript/typebox.js';
import { NAME_PATTERN } from '../../../sdk/typescript/units.js';

/**
 * The `config:` of a manufacturing/modbus plugin: one TypeBox definition gives the JSON Schema
 * `backworks check` validates with line:column, and the TypeScript types the pack works with.
 */

const Optional = <T extends TSchema>(schema: T) => Type.Optional(schema);
const Strict = { additionalProperties: false } as const;

export const TABLES = ['coil', 'discrete', 'input', 'holding'] as const;
export const DATA_TYPES = [
  'bool', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64', 'string', 'bit',
] as const;
export const ACCESS = ['read', 'read_write', 'write'] as const;
export const ORDERS = ['big', 'little'] as const;

const Order = (what: string) => Type.Union(ORDERS.map((o) => Type.Literal(o)), { description: what });

export const PointSchema = Type.Object({
  name: Type.String({ pattern: NAME_PATTERN, description: 'point name, unique within the device; the API path uses it' }),
  table: Optional(Type.Union(TABLES.map((t) => Type.Literal(t)), {
    description: 'coil (FC1/5/15), discrete input (FC2), input register (FC4), holding register (FC3/6/16)',
  })),
  address: Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'register or bit address (see address_base)' })),
  type: Optional(Type.Union(DATA_TYPES.map((t) => Type.Literal(t)), { description: 'how the registers are decoded' })),
  bit: Optional(Type.Integer({ minimum: 0, maximum: 15, description: 'type bit: which bit of the register (0 = least significant)' })),
  length: Optional(Type.Integer({ minimum: 1, maximum: 125, description: 'type string: number of registers (2 characters each)' })),
  byte_order: Optional(Order('order of the two bytes inside a register (default: the device\'s)')),
  word_order: Optional(Order('order of the registers of a 32/64-bit value (default: the device\'s)')),
  scale: Optional(Type.Number({ description: 'value = raw * scale + offset' })),
  offset: Optional(Type.Number()),
  unit: Optional(Type.String()),
  access: Optional(Type.Union(ACCESS.map((a) => Type.Literal(a)), { description: 'read (default), read_write or write' })),
  group: Optional(Type.String({ description: 'name of a poll group of the device (default: "default")' })),
  deadband: Optional(Type.Number({ minimum: 0, description: 'report on change: smallest change (in engineering units) that is reported' })),
  min: Optional(Type.Number({ description: 'writes below this are refused' })),
  max: Optional(Type.Number({ description: 'writes above this are refused' })),
}, Strict);

export const SerialSchema = Type.Object({
  path: Type.String({ minLength: 1, description: 'serial device, e.g. /dev/ttyUSB0' }),
  baud: Optional(Type.Integer({ minimum: 50, maximum: 4_000_000, default: 9600 })),
  parity: Optional(Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')], { default: 'none' })),
  data_bits: Optional(Type.Union([Type.Literal(7), Type.Literal(8)], { default: 8 })),
  stop_bits: Optional(Type.Union([Type.Literal(1), Type.Literal(2)], { default: 1 })),
}, Strict);

export const PollGroupSchema = Type.Object({
  interval: Duration('how often this group is read', '1s'),
}, Strict);

export const DeviceSchema = Type.Object({
  name: Optional(Type.String({ pattern: NAME_PATTERN, description: 'device name in readings and the API (default: ADDRESS-uUNIT)' })),
  transport: Optional(Type.Union([Type.Literal('tcp'), Type.Literal('rtu')], { default: 'tcp' })),
  address: Optional(Type.String({ minLength: 1, description: 'tcp: "host" or "host:port" (port 502 by default)' })),
  unit_id: Optional(Type.Integer({ minimum: 0, maximum: 255, default: 1 })),
  serial: Optional(SerialSchema),
  profile: Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@[0-9A-Za-z.+-]+$', description: 'VENDOR/MODEL@FIRMWARE from firmware-profiles/' })),
  interval: Optional(Duration('interval of the "default" poll group', '1s')),
  poll_groups: Optional(Type.Record(Type.String({ pattern: NAME_PATTERN }), PollGroupSchema, Strict)),
  timeout: Optional(Duration('how long one request may wait for its answer', '1s')),
  retries: Optional(Type.Integer({ minimum: 0, maximum: 10, default: 1, description: 'extra attempts after a timeout' })),
  backoff_max: Optional(Duration('longest wait between reconnection attempts to an unreachable device', '30s')),
  max_registers: Optional(Type.Integer({ minimum: 1, maximum: 125, description: 'registers per read request (default 125, or the profile\'s)' })),
  max_bits: Optional(Type.Integer({ minimum: 1, maximum: 2000, description: 'coils/discrete inputs per read request (default 2000)' })),
  max_gap: Optional(Type.Integer({ minimum: 0, maximum: 124, description: 'unused registers a request may read to merge two ranges (default 0); for coils and discrete inputs it counts bits, unless max_gap_bits is set' })),
  max_gap_bits: Optional(Type.Integer({ minimum: 0, maximum: 1999, description: 'unused coils/discrete inputs (bits) a request may read to merge two ranges (default: max_gap)' })),
  byte_order: Optional(Order('default byte order in a register (big: Modbus standard)')),
  word_order: Optional(Order('default register order of 32/64-bit values (big: high word first)')),
  address_base: Optional(Type.Union([Type.Literal(0), Type.Literal(1)], { description: 'addresses in `points` are 0-based protocol addresses (default) or 1-based register numbers' })),
  write_multiple: Optional(Type.Boolean({ description: 'write single coils/registers with FC15/FC16 instead of FC5/FC6 (for devices that only accept those)' })),
  report: Optional(Type.Union([Type.Literal('change'), Type.Literal('every_poll')], { default: 'change', description: 'emit a reading only when it changed (beyond its deadband) or on every poll' })),
  report_every: Optional(Duration('report: change — an unchanged value is reported again this often, with a fresh timestamp, so current data never looks old', '1m')),
  points: Optional(Type.Array(PointSchema, { description: 'points to read; with a profile, these override or add to the profile\'s by name' })),
}, Strict);

export const ModbusConfigSchema = Type.Object({
  devices: Type.Array(DeviceSchema, { minItems: 1 }),
  profiles_dir: Optional(Type.String({ description: 'folder of firmware profiles, relative to backworks.yaml (default: the installed firmware-profiles/)' })),
}, Strict);

export type PointConfig = Static<typeof PointSchema>;
export type DeviceConfig = Static<typeof DeviceSchema>;
export type ModbusConfig = Static<typeof ModbusConfigSchema>;
export type Table = typeof TABLES[number];
export type DataType = typeof DATA_TYPES[number];
export type Access = typeof ACCESS[number];
export type Order = typeof ORDERS[number];
