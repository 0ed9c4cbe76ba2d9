/**
 * The CLI's side of the IoHost: results to stdout, progress and logs to stderr, JSON lines to the
 * log file. National IDs are masked in everything but results printed with --show-ids.
 */
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { Chalk, type ChalkInstance } from 'chalk';
import { maskIdsInText } from '../format/national-id.js';
import type { IoHost, IoMessage, Level, Progress } from '../io-host.js';
import type { Clock } from '../clock.js';
import { taipeiIso } from '../clock.js';
import { fileError } from '../errors.js';

export interface Stream {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface OutputOptions {
  stdout: Stream;
  stderr: Stream;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  debug: boolean;
  color: boolean;
  showIds: boolean;
  logFile?: string;
  clock: Clock;
}

const RANK: Record<Level, number> = { error: 0, warn: 1, info: 2, verbose: 3, debug: 4 };

export class Output implements IoHost {
  readonly json: boolean;
  readonly showIds: boolean;
  readonly c: ChalkInstance;
  /** stderr is a terminal: progress and spinners are allowed. */
  readonly tty: boolean;
  /** stdout is a terminal: human, grouped output. */
  readonly stdoutTty: boolean;
  private readonly level: number;
  private logFd: number | undefined;
  private lastProgress = 0;
  private progressShown = false;

  constructor(private readonly o: OutputOptions) {
    this.json = o.json;
    this.showIds = o.showIds;
    this.tty = o.stderr.isTTY === true;
    this.stdoutTty = o.stdout.isTTY === true;
    this.c = new Chalk({ level: o.color && this.tty ? 2 : 0 });
    this.level = o.debug ? RANK.debug : o.verbose ? RANK.verbose : o.quiet ? RANK.warn : RANK.info;
    if (o.logFile) {
      try {
        this.logFd = openSync(o.logFile, 'a', 0o600);
      } catch (err) {
        throw fileError(err, o.logFile, 'open the log file');
      }
    }
  }

  /** A chalk instance for stdout (colours only on a terminal). */
  get cOut(): ChalkInstance {
    return new Chalk({ level: this.o.color && this.stdoutTty ? 2 : 0 });
  }

  get quiet(): boolean {
    return this.o.quiet;
  }

  get debug(): boolean {
    return this.o.debug;
  }

  get verbose(): boolean {
    return this.o.verbose || this.o.debug;
  }

  /** Writes a result line to stdout. */
  result(text: string): void {
    this.clearProgress();
    this.o.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** Writes the JSON result document to stdout. */
  resultJson(value: unknown): void {
    this.clearProgress();
    this.o.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** Writes raw bytes (a file's content) to stdout, waiting while a pipe is full. */
  async resultBytes(chunk: Uint8Array): Promise<void> {
    this.clearProgress();
    const out = this.o.stdout as Stream & { once?(event: 'drain', fn: () => void): unknown };
    if (out.write(chunk) === false && typeof out.once === 'function') await new Promise<void>((done) => out.once!('drain', done));
  }

  /** Masks national IDs unless --show-ids. */
  mask(text: string): string {
    return this.showIds ? text : maskIdsInText(text);
  }

  notify(msg: IoMessage): void {
    this.log(msg);
    if (RANK[msg.level] > this.level) return;
    this.clearProgress();
    const text = maskIdsInText(msg.message);
    const prefix =
      msg.level === 'error' ? this.c.red('error: ') : msg.level === 'warn' ? this.c.yellow('warning: ') : msg.level === 'debug' ? this.c.dim('debug: ') : '';
    this.o.stderr.write(prefix + text + '\n');
  }

  /** Whether {@link progress} shows anything (a terminal, not --quiet, not --json). */
  get showsProgress(): boolean {
    return this.tty && !this.o.quiet && !this.json;
  }

  /** Progress on a terminal only, at most ten times a second; never in cron logs. */
  progress(p: Progress): void {
    if (!this.showsProgress) return;
    const now = Date.now();
    if (now - this.lastProgress < 100 && !(p.total !== undefined && p.done >= p.total)) return;
    this.lastProgress = now;
    const total = p.total !== undefined ? `/${p.total}` : '';
    const pct = p.total ? ` ${Math.floor((100 * p.done) / p.total)}%` : '';
    this.o.stderr.write(`\r\x1b[K${this.c.cyan(p.label)} ${p.done}${total}${p.unit ? ' ' + p.unit : ''}${pct}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (this.progressShown) {
      this.o.stderr.write('\r\x1b[K');
      this.progressShown = false;
    }
  }

  /** A line on stderr regardless of --quiet (the end-of-run summary for cron mail). */
  summary(text: string): void {
    this.clearProgress();
    this.o.stderr.write(maskIdsInText(text) + '\n');
    this.log({ level: 'info', code: 'SUMMARY', message: text });
  }

  /** Interactive screens (forms, tables) on stderr beside the prompts: IDs masked unless --show-ids; never logged. */
  screen(text: string): void {
    this.clearProgress();
    this.o.stderr.write(this.mask(text) + '\n');
  }

  /** Human text to stderr at info level (hidden by --quiet and --json). */
  info(text: string): void {
    this.notify({ level: 'info', code: 'INFO', message: text });
  }

  warn(text: string, code = 'WARN'): void {
    this.notify({ level: 'warn', code, message: text });
  }

  /** Appends a message to the log file only (IDs masked). */
  log(msg: IoMessage): void {
    if (this.logFd === undefined) return;
    const line = {
      time: taipeiIso(this.o.clock.now()),
      level: msg.level,
      code: msg.code,
      message: maskIdsInText(msg.message),
      ...(msg.data ? { data: JSON.parse(maskIdsInText(JSON.stringify(msg.data))) } : {}),
    };
    appendFileSync(this.logFd, JSON.stringify(line) + '\n');
  }

  close(): void {
    this.clearProgress();
    if (this.logFd !== undefined) {
      closeSync(this.logFd);
      this.logFd = undefined;
    }
  }
}
