import { PluginError } from '../../../sdk/typescript/index.js';

/**
 * A value to write, checked against the node's data type before it goes on the wire, and put in
 * the form node-opcua encodes. The forms mirror what reads report (values.ts): 64-bit integers
 * as decimal strings (or safe JSON integers), DateTime as ISO 8601.
 */

const INT_RANGES: Record<string, [bigint, bigint]> = {
  SByte: [-128n, 127n], Byte: [0n, 255n], Int16: [-32768n, 32767n], UInt16: [0n, 65535n],
  Int32: [-2147483648n, 2147483647n], UInt32: [0n, 4294967295n],
  Int64: [-(2n ** 63n), 2n ** 63n - 1n], UInt64: [0n, 2n ** 64n - 1n],
};

export function checkValue(typeName: string | undefined, value: unknown, point: string): unknown {
  const fail = (why: string): never => { throw new PluginError(`point "${point}" (${typeName}): ${why}`, 400); };
  switch (typeName) {
    case 'Boolean': if (typeof value !== 'boolean') fail(`expects true or false, got ${JSON.stringify(value)}`); return value;
    case 'String': if (typeof value !== 'string') fail(`expects text, got ${JSON.stringify(value)}`); return value;
    case 'Float': case 'Double':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(`expects a number, got ${JSON.stringify(value)}`);
      return value;
    case 'DateTime': {
      const date = typeof value === 'string' ? new Date(value) : undefined;
      if (!date || Number.isNaN(date.getTime())) fail(`expects an ISO 8601 date, got ${JSON.stringify(value)}`);
      return date;
    }
    default: {
      const range = typeName ? INT_RANGES[typeName] : undefined;
      if (!range) return fail('writing this data type is not supported');
      const wide = typeName === 'Int64' || typeName === 'UInt64';
      let n: bigint | undefined;
      if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
      else if (wide && typeof value === 'string' && /^-?[0-9]+$/.test(value)) n = BigInt(value);
      if (n === undefined) fail(`expects an integer${wide ? ' (a decimal string beyond 2^53)' : ''}, got ${JSON.stringify(value)}`);
      if (n! < range[0] || n! > range[1]) fail(`${value} is out of range ${range[0]}..${range[1]}`);
      if (!wide) return Number(n);
      const bits = BigInt.asUintN(64, n!);
      return [Number(bits >> 32n), Number(bits & 0xffffffffn)]; // node-opcua: [high, low] words
    }
  }
}
