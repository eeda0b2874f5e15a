import fs from 'node:fs/promises';
import { BackworksError } from '../../errors.js';

/** e_machine values of the architectures Node runs on. */
const MACHINES: Record<string, number> = {
  x64: 62, arm64: 183, arm: 40, ia32: 3, riscv64: 243, loong64: 258, ppc64: 21, s390x: 22, mips: 8, mipsel: 8,
};
const MACHINE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MACHINES).map(([k, v]) => [v, k]));

/**
 * Refuses a library this process could not load, before any process tries: not an ELF file,
 * the wrong class (32/64-bit), byte order or architecture, or not a shared object. Reading the
 * header in TypeScript gives a clear message where dlopen would only say "wrong ELF class".
 * Linux only; elsewhere the loader's own error is reported.
 */
export async function checkElf(file: string): Promise<void> {
  if (process.platform !== 'linux') return;
  const handle = await fs.open(file, 'r');
  const header = Buffer.alloc(20);
  try {
    await handle.read(header, 0, 20, 0);
  } finally {
    await handle.close();
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) throw new BackworksError('BW_ERR_NATIVE_ELF', file, 'not an ELF shared library');
  const bits = header[4] === 1 ? 32 : header[4] === 2 ? 64 : 0;
  const ourBits = process.arch.endsWith('64') ? 64 : 32;
  if (bits !== ourBits) {
    throw new BackworksError('BW_ERR_NATIVE_ELF', file, `ELF class is ${bits || 'unknown'}-bit, this service is ${ourBits}-bit (${process.arch})`);
  }
  const littleEndian = header[5] === 1;
  if (littleEndian !== (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1)) {
    throw new BackworksError('BW_ERR_NATIVE_ELF', file, 'byte order differs from this machine');
  }
  const type = littleEndian ? header.readUInt16LE(16) : header.readUInt16BE(16);
  const machine = littleEndian ? header.readUInt16LE(18) : header.readUInt16BE(18);
  const expected = MACHINES[process.arch];
  if (expected !== undefined && machine !== expected) {
    throw new BackworksError('BW_ERR_NATIVE_ELF', file,
      `built for ${MACHINE_NAMES[machine] ?? `machine ${machine}`}, this machine is ${process.arch}`);
  }
  if (type !== 3) throw new BackworksError('BW_ERR_NATIVE_ELF', file, `ELF type ${type} is not a shared object (ET_DYN)`);
}
