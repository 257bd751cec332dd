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
 *
 * When any step before the rename fails (ENOSPC is the usual one: a full disk), the temp file is
 * removed before the error is passed on: a half-written `.tmp` holds blocks a full disk needs
 * back, and a zero-byte one left per attempt is litter an operator has to explain. `file` itself
 * is then untouched.
 */
export async function writeFileAtomic(file: string, text: string, sync: boolean): Promise<void> {
  const tmp = `${file}.tmp`;
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'w');
    await fh.writeFile(text);
    if (sync) await fh.sync();
    const open = fh;
    fh = undefined;
    await open.close();
    await fsp.rename(tmp, file);
  } catch (e) {
    // A close after a failed write may fail as well; the first error is the one to report.
    await fh?.close().catch(() => {});
    await fsp.unlink(tmp).catch(() => {});
    throw e;
  }
  if (sync) await fsyncDir(path.dirname(file));
}
