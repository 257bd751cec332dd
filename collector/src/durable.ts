/**
 * Durable file writes, in one place: the outbox, the cursor store and the batch chain all need a
 * rename (or a create, or an unlink) to survive power loss, which on Linux means an fsync of the
 * directory after the file's own fsync. Windows cannot fsync a directory (EPERM/EISDIR): there
 * the directory step is skipped, and NTFS's own journal covers the metadata.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';

/** Makes a create/rename/unlink in `dir` durable; a no-op where the platform cannot do it. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    /* not supported on this platform */
  } finally {
    await fh?.close().catch(() => {});
  }
}

/**
 * Writes `text` to `file` atomically: a temp file beside it, fsync, rename over, fsync the
 * directory (with `sync`). A reader sees the old content or the new, never a torn mix.
 */
export async function writeFileAtomic(file: string, text: string, sync: boolean): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(text);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  if (sync) await fsyncDir(path.dirname(file));
}
