/**
 * Reads an input file from elsewhere without trusting it: only regular files (a FIFO or a device
 * could block forever or never end), at most a given size, within a deadline, and only valid
 * UTF-8 (a decoder that replaces bad bytes could make two different values equal).
 *
 * @module
 */
import { constants, isUtf8 } from 'node:buffer';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import type { Clock } from '../core/runtime.js';

/** What {@link readInputFile} found. */
export type InputResult =
  | { readonly kind: 'text'; readonly text: string }
  /** The file cannot be opened as input (missing, unreadable, not a regular file): exit 66. */
  | { readonly kind: 'unreadable'; readonly message: string }
  /** The content is unacceptable (too large, not UTF-8): exit 65. */
  | { readonly kind: 'invalid'; readonly message: string; readonly line?: number }
  /** The deadline passed while reading. */
  | { readonly kind: 'timeout' };

/** Options of {@link readInputFile}. */
export interface InputOptions {
  /** The largest file accepted, in bytes. */
  readonly maxBytes: number;
  /** Reading stops (`timeout`) once this clock passes `deadline`. */
  readonly clock: Clock;
  /** Monotonic milliseconds; `Infinity` for none. */
  readonly deadline: number;
}

const chunkBytes = 1 << 20;

function kindOf(s: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Reads `path` as UTF-8 text under the bounds of `options`. */
export async function readInputFile(path: string, options: InputOptions): Promise<InputResult> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return { kind: 'unreadable', message: `no such file: ${path}` };
    return { kind: 'unreadable', message: `cannot read ${path}: ${(error as Error).message}` };
  }
  // Checked before opening: opening a FIFO for reading blocks until a writer comes.
  if (!info.isFile())
    return {
      kind: 'unreadable',
      message: `cannot read ${path}: it is ${kindOf(info)}, not a regular file`,
    };
  if (info.size > options.maxBytes) return tooLarge(path, info.size, options.maxBytes);
  let handle;
  try {
    // O_NONBLOCK: should the path become a FIFO after the check above, opening still returns.
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    return { kind: 'unreadable', message: `cannot read ${path}: ${(error as Error).message}` };
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile())
      return {
        kind: 'unreadable',
        message: `cannot read ${path}: it is ${kindOf(opened)}, not a regular file`,
      };
    const bytes = await readBounded(handle, options);
    if (bytes === 'timeout') return { kind: 'timeout' };
    if (bytes.length > options.maxBytes) return tooLarge(path, bytes.length, options.maxBytes);
    return decode(bytes);
  } catch (error) {
    return { kind: 'unreadable', message: `cannot read ${path}: ${(error as Error).message}` };
  } finally {
    await handle.close();
  }
}

function tooLarge(path: string, size: number, maxBytes: number): InputResult {
  const what = size > maxBytes + 1 ? mib(size) : `over ${mib(maxBytes)}`;
  return {
    kind: 'invalid',
    message: `${path} is too large (${what}; the bound is ${mib(maxBytes)}, see --max-input-mb)`,
  };
}

/** Reads at most `maxBytes + 1` bytes (one more shows the file grew past the bound). */
async function readBounded(handle: FileHandle, options: InputOptions): Promise<Buffer | 'timeout'> {
  const limit = Math.min(options.maxBytes + 1, constants.MAX_LENGTH);
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    if (options.clock.monotonicMs() > options.deadline) return 'timeout';
    const buffer = Buffer.allocUnsafe(Math.min(chunkBytes, limit - total));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) break;
    chunks.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    total += bytesRead;
  }
  return Buffer.concat(chunks, total);
}

function decode(bytes: Buffer): InputResult {
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    return {
      kind: 'invalid',
      message: `invalid UTF-8 at byte ${at} (0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')})`,
      line,
    };
  }
  const text = bytes.toString('utf8');
  return { kind: 'text', text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}

/**
 * The offset of the first byte that starts no valid UTF-8 sequence (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF); `bytes.length` when all is valid.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      const min = k === 1 ? lo : 0x80;
      const max = k === 1 ? hi : 0xbf;
      if (c === undefined || c < min || c > max) return i;
    }
    i += n + 1;
  }
  return bytes.length;
}
