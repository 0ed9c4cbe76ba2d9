/**
 * Memory for reading an input file, used again: a chunk goes back to the pool once no row read
 * from it is needed any more ({@link RowStore.onRetired}). A new buffer per chunk would count, for
 * the JavaScript engine, as fresh outside memory every time and set off a full garbage collection
 * every few megabytes read.
 */
export class ChunkPool {
  private readonly free: Buffer[] = [];
  /** The pool's own buffers, by their memory (rows hold views of a part of it). */
  private readonly own = new WeakMap<ArrayBufferLike, Buffer>();

  constructor(
    readonly size = 256 * 1024,
    private readonly keep = 4,
  ) {}

  /** A buffer of {@link size} bytes, its content undefined. */
  take(): Buffer {
    const b = this.free.pop();
    if (b !== undefined) return b;
    const fresh = Buffer.allocUnsafeSlow(this.size);
    this.own.set(fresh.buffer, fresh);
    return fresh;
  }

  /** Takes back the buffer `view` lies in, when it is one of the pool's (anything else is left alone). */
  give(view: Buffer): void {
    const b = this.own.get(view.buffer);
    if (b !== undefined && this.free.length < this.keep && !this.free.includes(b)) this.free.push(b);
  }
}
