/**
 * Durable file writes of the hub, in one place (the collector has its own, collector/src/durable.ts,
 * for its outbox; the two packages share no runtime code). Files the hub writes rarely but must
 * not lose — the pseudonym keyring above all: a keyring lost after the store was written with its
 * secret would leave every stored pseudonym unjoinable — are written with an fsync of the file
 * and then of its directory, which on Linux is what makes a create or a rename survive power loss.
 * Windows cannot fsync a directory: there the directory step is skipped (NTFS journals metadata).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Makes a create/rename/unlink in `dir` durable; a no-op where the platform cannot do it. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* not supported on this platform */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export interface DurableWriteOptions {
  /** File mode of a created file. @defaultValue 0o600 */
  mode?: number;
  /**
   * Create only: fail with EEXIST when the file exists (two processes starting on one data
   * directory cannot both write a different secret). Otherwise the file is replaced atomically
   * (a temp file beside it, renamed over it): a reader sees the old content or the new.
   */
  exclusive?: boolean;
}

/** Writes `text` to `file` and makes it durable (file, then directory). */
export function writeFileDurableSync(file: string, text: string, { mode = 0o600, exclusive = false }: DurableWriteOptions = {}): void {
  const target = exclusive ? file : `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(target, exclusive ? 'wx' : 'w', mode);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  if (!exclusive) fs.renameSync(target, file);
  fsyncDirSync(path.dirname(file));
}

/** Renames `from` over `to` and makes the rename durable. */
export function renameDurableSync(from: string, to: string): void {
  fs.renameSync(from, to);
  fsyncDirSync(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) fsyncDirSync(path.dirname(from));
}
