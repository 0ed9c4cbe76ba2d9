/**
 * Compressing a ZIP entry in another thread: the thread that produces the bytes hands them over in
 * shared memory, and the other thread — whose event loop has nothing else to do — keeps zlib busy
 * and writes the compressed bytes into the archive file itself.
 *
 * Why: zlib's thread pool gets its next piece of work only when the thread driving it runs its
 * event loop. `pack`'s pipeline runs long stretches without doing so, and zlib waited in between;
 * driven from an idle thread, deflate keeps pace with the pipeline.
 *
 * {@link remoteDeflate} is the producer's side (a {@link CompressorFactory} for {@link ZipWriter});
 * {@link DeflateService} the other side, answering its messages.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { collectYoungGeneration } from '../gc.js';
import { fileError } from '../errors.js';
import { endError, failureEnd, type IsolatedError } from '../isolated.js';
import { deflateInto, writeFully, type Compressed, type CompressorFactory, type CompressTarget, type EntryCompressor } from './zip-writer.js';

/** The producer's messages. */
export type DeflateRequest =
  | { deflate: 'open'; target: CompressTarget }
  | { deflate: 'write'; memory: SharedArrayBuffer; offset: number; length: number; token: number }
  | { deflate: 'end' }
  | { deflate: 'abort' };

/** The answers. */
export type DeflateReply =
  | { deflated: 'taken'; token: number }
  | { deflated: 'ended'; result: Compressed }
  | { deflated: 'failed'; end: { error: IsolatedError } | { failed: string } };

/** A port both sides talk through (a worker's `parentPort`, or a `Worker`). */
export interface DeflatePort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

const isReply = (m: unknown): m is DeflateReply => typeof m === 'object' && m !== null && 'deflated' in m;

/**
 * Compresses entries in the thread at the other end of `port` (which runs a {@link DeflateService}).
 * Bytes in shared memory are handed over as they are; others are copied into shared memory first.
 */
export function remoteDeflate(port: DeflatePort): CompressorFactory {
  return (target) => {
    const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void; released: (() => void) | undefined }>();
    let ending: { resolve: (c: Compressed) => void; reject: (err: Error) => void } | undefined;
    let failed: Error | undefined;
    let next = 0;
    const stop = () => port.off('message', listen);
    const listen = (m: unknown) => {
      if (!isReply(m)) return;
      if (m.deflated === 'taken') {
        const p = pending.get(m.token);
        pending.delete(m.token);
        p?.released?.();
        p?.resolve();
      } else if (m.deflated === 'ended') {
        stop();
        ending?.resolve(m.result);
      } else {
        stop();
        failed = endError(m.end);
        for (const p of pending.values()) p.reject(failed);
        pending.clear();
        ending?.reject(failed);
      }
    };
    port.on('message', listen);
    port.postMessage({ deflate: 'open', target } satisfies DeflateRequest);
    const compressor: EntryCompressor = {
      write: (chunk, released) => {
        if (failed) return Promise.reject(failed);
        let memory = chunk.buffer;
        let offset = chunk.byteOffset;
        if (!(memory instanceof SharedArrayBuffer)) {
          const copy = new SharedArrayBuffer(chunk.length);
          Buffer.from(copy).set(chunk);
          memory = copy;
          offset = 0;
        }
        const token = next++;
        return new Promise<void>((resolve, reject) => {
          pending.set(token, { resolve, reject, released });
          port.postMessage({ deflate: 'write', memory: memory as SharedArrayBuffer, offset, length: chunk.length, token } satisfies DeflateRequest);
        });
      },
      end: () => {
        if (failed) return Promise.reject(failed);
        return new Promise<Compressed>((resolve, reject) => {
          ending = { resolve, reject };
          port.postMessage({ deflate: 'end' } satisfies DeflateRequest);
        });
      },
      abort: () => {
        stop();
        pending.clear();
        port.postMessage({ deflate: 'abort' } satisfies DeflateRequest);
      },
    };
    return compressor;
  };
}

/**
 * Compressed bytes between two young-generation collections of the compressing thread: zlib hands
 * its output in 128 KiB buffers, a new one whenever one is full, and a buffer's memory is given
 * back only when the thread that received it collects garbage — which a thread doing little else
 * but compressing hardly ever does, so a day's whole ZIP would pile up in memory.
 */
const COLLECT_EVERY = 2 * 1024 * 1024;

/**
 * The compressing side, for one producer: one entry at a time, written into the archive file at
 * the offset the producer gives (the producer's ZipWriter writes the headers around it). After a
 * failure it answers nothing more.
 */
export class DeflateService {
  private compressor: EntryCompressor | undefined;
  private fh: FileHandle | undefined;
  private path = '';
  /** The entry's steps, in the order they came. */
  private chain: Promise<unknown> = Promise.resolve();
  private failed = false;

  /** Handles one of the producer's messages; `answer` reaches the producer. */
  handle(m: DeflateRequest, answer: (reply: DeflateReply) => void): void {
    if (m.deflate === 'abort') {
      void this.close();
      return;
    }
    if (this.failed) return;
    const step = (fn: () => Promise<unknown>) => {
      this.chain = this.chain.then(fn).catch((err: unknown) => {
        if (this.failed) return;
        this.failed = true;
        answer({ deflated: 'failed', end: failureEnd(err) });
        void this.close();
      });
    };
    if (m.deflate === 'open') {
      const target = m.target;
      this.path = target.path;
      step(async () => {
        try {
          this.fh = await open(target.path, 'r+');
        } catch (err) {
          throw fileError(err, target.path, 'write');
        }
        const fh = this.fh;
        let sinceCollect = 0;
        this.compressor = deflateInto(target, (buf, position) => {
          sinceCollect += buf.length;
          if (sinceCollect >= COLLECT_EVERY) {
            sinceCollect = 0;
            collectYoungGeneration();
          }
          return writeFully(fh, target.path, buf, position);
        });
      });
    } else if (m.deflate === 'write') {
      const { memory, offset, length, token } = m;
      step(() => this.compressor!.write(Buffer.from(memory, offset, length), () => answer({ deflated: 'taken', token })));
    } else {
      step(async () => {
        const result = await this.compressor!.end();
        this.compressor = undefined;
        const fh = this.fh;
        this.fh = undefined;
        try {
          await fh?.close();
        } catch (err) {
          throw fileError(err, this.path, 'write');
        }
        answer({ deflated: 'ended', result });
      });
    }
  }

  /** Stops whatever is open (the producer gave up, or is gone). */
  async close(): Promise<void> {
    this.compressor?.abort();
    this.compressor = undefined;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => {});
  }
}

/** Whether a message is a {@link DeflateRequest}. */
export const isDeflateRequest = (m: object): m is DeflateRequest => 'deflate' in m;
