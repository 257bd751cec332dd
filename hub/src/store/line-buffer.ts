/**
 * Rows written as UTF-8 lines straight into bytes: the hot path's insert payload.
 *
 * Building a batch's rows as one string (`text += JSON.stringify(row) + '\n'`) made a large string
 * — two bytes per character as soon as one row holds Chinese text — which the store writer then
 * flattened, concatenated with its group's other texts and converted to UTF-8 once more for the
 * engine. Written row by row into a Buffer, each row's small string dies young, and the bytes go
 * to the engine as they are (chDB's raw insert takes them without a copy).
 */
export class LineBuffer {
  private buf: Buffer;
  private off = 0;
  private count = 0;

  constructor(expectedBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(256, expectedBytes));
  }

  /** Appends `line` and a newline. `line` must not contain one (JSON text never does). */
  line(line: string): void {
    // A UTF-8 character takes at most 3 bytes per UTF-16 code unit.
    const need = line.length * 3 + 1;
    if (this.buf.length - this.off < need) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + need));
      this.buf.copy(grown, 0, 0, this.off);
      this.buf = grown;
    }
    this.off += this.buf.write(line, this.off, 'utf8');
    this.buf[this.off++] = 10;
    this.count++;
  }

  /** Lines written so far. */
  get lines(): number {
    return this.count;
  }

  /** The bytes written (a view: write no more lines once taken). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.off);
  }
}
