import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { BackworksError } from '../errors.js';

/** Reports download progress: a bar redrawn in place on a terminal, a few plain lines otherwise. */
export interface Progress {
  start(label: string, total: number | undefined): void;
  advance(bytes: number): void;
  done(): void;
}

/** Larger registry files are refused: a plugin library is megabytes, an index kilobytes. */
export const MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;

async function open(url: string): Promise<{ body: Readable; total?: number }> {
  const parsed = new URL(url);
  if (parsed.protocol === 'file:') {
    const file = fileURLToPath(parsed);
    try {
      const stat = await fs.promises.stat(file);
      return { body: fs.createReadStream(file), total: stat.size };
    } catch (err) {
      throw new BackworksError('BW_ERR_REGISTRY_FETCH', url, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
    }
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new BackworksError('BW_ERR_REGISTRY_FETCH', url, `unsupported scheme ${parsed.protocol} (https, http or file)`);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(120_000), redirect: 'follow' });
  } catch (err) {
    throw new BackworksError('BW_ERR_REGISTRY_FETCH', url, (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
  }
  if (!res.ok || !res.body) throw new BackworksError('BW_ERR_REGISTRY_FETCH', url, `HTTP ${res.status} ${res.statusText}`);
  const length = Number(res.headers.get('content-length'));
  return { body: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), total: Number.isFinite(length) && length > 0 ? length : undefined };
}

/** Fetches a small document (the index, a signature) into memory. */
export async function fetchText(url: string, limit = 16 * 1024 * 1024): Promise<string> {
  const { body } = await open(url);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) { body.destroy(); throw new BackworksError('BW_ERR_REGISTRY_FETCH', url, `larger than ${limit} bytes`); }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Streams `url` into `file` (created exclusively, mode 0600) with progress; the caller verifies
 * the file before it goes anywhere else. A body longer than `expected` bytes is cut off at once.
 */
export async function downloadTo(url: string, file: string, expected: number | undefined, progress: Progress, label: string): Promise<void> {
  const { body, total } = await open(url);
  const limit = expected ?? MAX_DOWNLOAD_BYTES;
  let received = 0;
  progress.start(label, expected ?? total);
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (received > limit) { done(new BackworksError('BW_ERR_REGISTRY_FETCH', url, `more than the ${limit} bytes the index announces`)); return; }
      progress.advance(chunk.length);
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } finally {
    progress.done();
  }
}
