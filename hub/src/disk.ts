/**
 * The space on the disk holding a directory (statfs: answered by the kernel in microseconds),
 * for /healthz, /metrics and the go-live check. Free is what the hub's user may still write.
 */
import fs from 'node:fs';

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
}

/** The disk's free and total bytes, or undefined when they cannot be read. */
export async function diskSpace(dir: string): Promise<DiskSpace | undefined> {
  const st = await fs.promises.statfs(dir).catch(() => undefined);
  return st ? { freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize } : undefined;
}
