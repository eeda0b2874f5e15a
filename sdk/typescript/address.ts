import { isIPv6 } from 'node:net';

/**
 * Host names, IP addresses and ports as a technician writes them in a plugin's config, checked by
 * the plugin's `checkConfig` so that `backworks check` refuses what the plugin could never connect
 * to (`192.168.1.300`, `192.168.1,110`, `plc_1`). Each function answers undefined when the text is
 * fine, else one sentence that says what to write instead.
 */

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A host name (RFC 1123), an IPv4 address or an IPv6 address (without brackets). */
export function hostProblem(host: string): string | undefined {
  if (host === '') return 'the host is empty; write an IP address such as 192.168.1.10 or a host name such as plc-1.local';
  if (host.includes(',')) return `"${host}" has a comma; an IP address is written with dots, e.g. ${host.replace(/,/g, '.')}`;
  if (/\s/.test(host)) return `"${host}" has a space; write the IP address or host name alone, e.g. 192.168.1.10`;
  if (host.includes(':')) return isIPv6(host) ? undefined : `"${host}" is not an IPv6 address (write it in brackets with the port after them: [fd00::10]:502)`;
  if (/^[0-9.]+$/.test(host)) return ipv4Problem(host);
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > 253) return `host name "${host}" is longer than 253 characters`;
  const bad = name.split('.').find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return `"${host}" is not a valid host name${bad === '' ? ' (two dots in a row, or a dot at the start)' : ''}: use letters, digits, - and dots (no _ or other signs), or an IP address such as 192.168.1.10`;
  }
  return undefined;
}

function ipv4Problem(host: string): string | undefined {
  const parts = host.split('.');
  if (parts.length !== 4 || parts.includes('')) {
    return `"${host}" is not an IPv4 address: an address is four numbers from 0 to 255 separated by dots, e.g. 192.168.1.10`;
  }
  const high = parts.find((p) => Number(p) > 255);
  if (high !== undefined) return `"${host}" is not an IPv4 address: ${high} is above 255 (each of the four numbers is 0 to 255)`;
  const padded = parts.find((p) => p.length > 1 && p.startsWith('0'));
  if (padded !== undefined) return `"${host}": write ${Number(padded)}, not ${padded} (a leading 0 makes some systems read the number as octal)`;
  return undefined;
}

/** A TCP or UDP port: a whole number from 1 to 65535. */
export function portProblem(port: string | number): string | undefined {
  const text = String(port);
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > 65535) return `port "${text}" must be a whole number from 1 to 65535`;
  return undefined;
}

/**
 * "host", "host:port", "[v6]" or "[v6]:port" split and checked; `port` is `defaultPort` when the
 * text has none. `'problem' in` the answer tells the two apart.
 */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } | { problem: string } {
  const m = /^\[([^\]]*)\](?::(.*))?$/.exec(text) ?? /^([^:]*)(?::([^:]*))?$/.exec(text);
  if (!m) return { problem: `"${text}" must be "host" or "host:port"; an IPv6 address goes in brackets: [fd00::10]:502` };
  const [, host, port] = m;
  const problem = hostProblem(host) ?? (port !== undefined ? portProblem(port) : undefined);
  if (problem) return { problem };
  return { host, port: port !== undefined ? Number(port) : defaultPort };
}

/**
 * The host and port of a URL such as opc.tcp://192.168.1.50:4840/path or mqtt://broker:1883,
 * checked; `defaultPort` applies when the URL has none.
 */
export function urlAddressProblem(url: string, defaultPort: number): string | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(url);
  if (!m) return `"${url}" is not a URL; write SCHEME://HOST:PORT, e.g. opc.tcp://192.168.1.50:4840`;
  const authority = m[2].slice(m[2].lastIndexOf('@') + 1);
  const parsed = parseHostPort(authority, defaultPort);
  return 'problem' in parsed ? parsed.problem : undefined;
}
