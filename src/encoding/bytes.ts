/** Small byte helpers for the readers' hot paths. */

type Latin1Slicer = Buffer & { latin1Slice?: (start: number, end: number) => string };

/** `buf.toString('latin1', start, end)` without its argument checks (Buffer's own latin1Slice where present). */
export function latin1(buf: Buffer, start: number, end: number): string {
  const b = buf as Latin1Slicer;
  return b.latin1Slice ? b.latin1Slice(start, end) : buf.toString('latin1', start, end);
}

/** Whether `buf` holds the bytes of `a` at `at`. */
export function sameBytes(a: Uint8Array, buf: Uint8Array, at: number): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== buf[at + k]) return false;
  return true;
}
