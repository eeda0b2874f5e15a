/**
 * The ABI is written once, in sdk/c/backworks_plugin.h; three copies must agree with it as a C
 * compiler lays it out on this machine: the Rust SDK's abi.rs (its own test prints what rustc
 * makes of it), the koffi declarations the in-process loader uses, and the frame protocol between
 * the service and the plugin host (protocol.ts vs host/host.h). Structs, members, sizes, offsets
 * and constants are read from the headers, so a member appended there and not here fails.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import koffi from 'koffi';
import { beforeAll, describe, expect, it } from 'vitest';
import { abi } from '../../service/src/plugins/native/koffi-abi.js';
import { Frame, HEADER, HostCall, MAX_FRAME, Status } from '../../service/src/plugins/native/protocol.js';
import { repoRoot } from '../helpers/service.js';
import { tempDir } from '../helpers/tmp.js';

const exec = promisify(execFile);
const headerFile = path.join(repoRoot, 'sdk/c/backworks_plugin.h');
const hostHeaderFile = path.join(repoRoot, 'service/src/plugins/native/host/host.h');

interface Layout {
  structs: Record<string, { size: number; members: Array<[string, number]> }>;
  constants: Record<string, number>;
}

const withoutComments = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

/** Each `typedef struct NAME { ... } NAME;` of the header, with its members in order. */
function headerStructs(text: string): Record<string, string[]> {
  const structs: Record<string, string[]> = {};
  for (const [, name, body] of withoutComments(text).matchAll(/typedef struct (\w+) \{([^}]*)\} \1;/g)) {
    structs[name] = body.split(';').map((d) => /(\w+)\s*$/.exec(d.trim())?.[1]).filter((m): m is string => m !== undefined);
  }
  return structs;
}

/** Every `#define BW_NAME value` with a numeric value (not the export macros or the symbol name). */
function headerConstants(text: string): string[] {
  return [...withoutComments(text).matchAll(/^#define (BW_[A-Z0-9_]+)[ \t]+([^\n]+)$/gm)]
    .filter(([, , value]) => /^[-(0-9]/.test(value.trim()))
    .map(([, name]) => name);
}

function enumMembers(text: string, prefix: string): string[] {
  return [...withoutComments(text).matchAll(new RegExp(`\\b(${prefix}\\w+)\\s*=`, 'g'))].map(([, name]) => name);
}

const header = fs.readFileSync(headerFile, 'utf8');
const hostHeader = fs.readFileSync(hostHeaderFile, 'utf8');
const structs = headerStructs(header);
const constants = headerConstants(header);
const frames = enumMembers(hostHeader, 'F_');
const hostCalls = enumMembers(hostHeader, 'HC_');

/** The header as the C compiler lays it out: a program generated from the names above prints it. */
async function compiledLayout(): Promise<Layout & { host: Record<string, number> }> {
  const dir = tempDir('backworks-abi-');
  const put = (key: string, expr: string, format: string) => `  printf("%s\\"${key}\\":${format}", sep, ${expr}); sep = ",";`;
  const lines = [
    '#include <stdio.h>', '#include <stddef.h>', '#include "host.h"',
    'int main(void) {', '  const char *sep = "";', '  printf("{\\"structs\\":{");',
    ...Object.entries(structs).flatMap(([name, members]) => [
      put(name, `sizeof(${name})`, '{\\"size\\":%zu,\\"members\\":['), '  sep = "";',
      ...members.map((m) => put('', `offsetof(${name}, ${m})`, '').replace('\\"\\":', `[\\"${m}\\",%zu]`)),
      '  printf("]}"); sep = ",";',
    ]),
    '  printf("},\\"constants\\":{"); sep = "";',
    ...constants.map((c) => put(c, `(long long)(${c})`, '%lld')),
    '  printf("},\\"host\\":{"); sep = "";',
    ...[...frames, ...hostCalls, 'HEADER_SIZE', 'MAX_FRAME'].map((c) => put(c, `(long long)(${c})`, '%lld')),
    '  printf("}}\\n");', '  return 0;', '}',
  ];
  fs.writeFileSync(path.join(dir, 'layout.c'), lines.join('\n'));
  await exec('cc', ['-std=gnu11', '-Wall', '-Werror', '-I', path.dirname(headerFile), '-I', path.dirname(hostHeaderFile), '-o', path.join(dir, 'layout'), path.join(dir, 'layout.c')]);
  const { stdout } = await exec(path.join(dir, 'layout'));
  return JSON.parse(stdout) as Layout & { host: Record<string, number> };
}

async function rustLayout(): Promise<Layout> {
  const { stdout } = await exec('cargo', ['test', '--release', '--quiet', '--test', 'abi_layout', '--', '--nocapture'], {
    cwd: path.join(repoRoot, 'sdk/rust/backworks-plugin-sdk'),
    env: { ...process.env, CARGO_TARGET_DIR: path.join(repoRoot, 'target') },
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('ABI_LAYOUT '));
  if (!line) throw new Error(`the Rust layout test printed no ABI_LAYOUT line:\n${stdout}`);
  return JSON.parse(line.slice('ABI_LAYOUT '.length)) as Layout;
}

let c: Layout & { host: Record<string, number> };
beforeAll(async () => { c = await compiledLayout(); }, 60_000);

describe('the ABI header is the one description', () => {
  it('the header is read: its four structs, their members and its constants', () => {
    expect(Object.keys(structs).sort()).toEqual(['bw_type_calls', 'bw_type_descriptor', 'bw_type_endpoint_reply', 'bw_type_host_api']);
    expect(structs.bw_type_host_api).toContain('emit_acknowledged');
    expect(constants).toEqual(expect.arrayContaining(['BW_ABI_MAJOR', 'BW_ABI_MINOR', 'BW_OK', 'BW_ERR_HOST_GONE', 'BW_LOG_ERROR', 'BW_CAP_CONFIG_RELOAD']));
    expect(c.constants.BW_ABI_MINOR).toBe(2);
    expect(c.structs.bw_type_descriptor.members[0]).toEqual(['struct_size', 0]);
  });

  it('the Rust SDK (abi.rs, as rustc lays it out) has every struct, member, offset, size and constant', async () => {
    const rust = await rustLayout();
    expect(rust.structs).toEqual(c.structs);
    expect(rust.constants).toEqual(c.constants);
  }, 300_000);

  it('the koffi declarations are the header\'s first members, at the same offsets, and end where the next member starts', () => {
    const declared = { hostApi: 'bw_type_host_api', calls: 'bw_type_calls', endpointReply: 'bw_type_endpoint_reply', descriptor: 'bw_type_descriptor' } as const;
    for (const [key, name] of Object.entries(declared)) {
      const type = (abi as Record<string, unknown>)[key];
      const members = Object.values((koffi.introspect(type as never) as unknown as { members: Record<string, { name: string; offset: number }> }).members)
        .map((m): [string, number] => [m.name, m.offset]);
      const inC = c.structs[name];
      expect({ name, members }).toEqual({ name, members: inC.members.slice(0, members.length) });
      const next = inC.members[members.length];
      expect({ name, size: koffi.sizeof(type as never) }).toEqual({ name, size: next ? next[1] : inC.size });
    }
  });

  it('the frame protocol (protocol.ts) has host.h\'s frame types, host calls, header size and limit, and the header\'s status codes', () => {
    expect(Object.fromEntries(Object.entries(Frame).map(([k, v]) => [`F_${k}`, v]))).toEqual(Object.fromEntries(frames.map((f) => [f, c.host[f]])));
    expect(Object.fromEntries(Object.entries(HostCall).map(([k, v]) => [`HC_${k}`, v]))).toEqual(Object.fromEntries(hostCalls.map((h) => [h, c.host[h]])));
    expect(HEADER - 4).toBe(c.host.HEADER_SIZE);
    expect(MAX_FRAME).toBe(c.host.MAX_FRAME);
    const statuses = ['BW_OK', 'BW_NONE', 'BW_ERR', 'BW_ERR_UNSUPPORTED', 'BW_ERR_HOST_GONE'];
    expect(Object.fromEntries(Object.entries(Status).map(([k, v]) => [k === 'ERR' || k === 'OK' || k === 'NONE' ? `BW_${k}` : `BW_ERR_${k}`, v])))
      .toEqual(Object.fromEntries(statuses.map((s) => [s, c.constants[s]])));
  });
});
