/**
 * A real pseudo-terminal for end-to-end tests of interactive commands, through tmux: the command
 * runs in a detached tmux session on a private socket; tests type (`type`, `press`), read the
 * screen (`screen`, `history`) and wait for text to appear (`waitFor`) with a deadline instead of
 * sleeping. `close()` ends the private tmux server and removes its folder.
 *
 *     const t = await Terminal.start(['node', BIN, 'entry'], { env });
 *     await t.waitFor(/^\? .*h1 報告類別/m);
 *     await t.press('Enter');
 *     expect(await t.exitCode()).toBe(0);
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TerminalOptions {
  env?: Record<string, string>;
  cwd?: string;
  columns?: number;
  rows?: number;
}

export interface WaitOptions {
  /** Milliseconds (default 20 s). */
  timeout?: number;
  /** Look at the whole scroll-back, not only the visible screen. */
  history?: boolean;
}

const EXIT_MARK = /\[exited (\d+)\]/;

/** Whether tmux is installed (tests using a terminal are skipped without it). */
export async function hasTmux(): Promise<boolean> {
  try {
    await run('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class Terminal {
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly socket: string,
    readonly target: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Starts `argv` in a new terminal of `columns` × `rows` (default 220 × 60), UTF-8. */
  static async start(argv: string[], o: TerminalOptions = {}): Promise<Terminal> {
    const dir = mkdtempSync(join(tmpdir(), 'labup-pty-'));
    const socket = join(dir, 'tmux.sock');
    const env: NodeJS.ProcessEnv = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', ...o.env };
    delete env.TMUX;
    // The pane stays open after the command so that its last screen and exit code can be read.
    const command = `cd ${shellQuote(o.cwd ?? process.cwd())} && ${argv.map(shellQuote).join(' ')}; echo "[exited $?]"; exec sleep 3600`;
    const vars = Object.entries(o.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const t = new Terminal(dir, socket, 'labup', env);
    await t.tmux(['-f', '/dev/null', 'new-session', '-d', '-s', 'labup', '-x', String(o.columns ?? 220), '-y', String(o.rows ?? 60), ...vars, command]);
    await t.tmux(['set-option', '-t', 'labup', 'history-limit', '20000']);
    return t;
  }

  private async tmux(args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-u', '-S', this.socket, ...args], { env: this.env, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  }

  /** Types text literally. */
  async type(text: string): Promise<void> {
    await this.tmux(['send-keys', '-t', this.target, '-l', '--', text]);
  }

  /** Presses keys by tmux name: Enter, Up, Down, Space, BSpace, Escape, C-u, a … */
  async press(...keys: string[]): Promise<void> {
    await this.tmux(['send-keys', '-t', this.target, ...keys]);
  }

  /** The visible screen, lines joined (wrapped lines re-joined). */
  async screen(): Promise<string> {
    return this.tmux(['capture-pane', '-p', '-J', '-t', this.target]);
  }

  /** Everything the terminal showed, scroll-back included. */
  async history(): Promise<string> {
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-', '-t', this.target]);
  }

  /** Waits until the screen (or history) matches; returns the match. Throws with the screen on timeout. */
  async waitFor(pattern: RegExp | string, o: WaitOptions = {}): Promise<RegExpMatchArray> {
    const deadline = Date.now() + (o.timeout ?? 20_000);
    const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    let text = '';
    for (;;) {
      text = o.history ? await this.history() : await this.screen();
      const m = re.exec(text);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} on the terminal; it shows:\n${text.replace(/\n+$/, '')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits for the screen to stop matching (e.g. a prompt to be answered). */
  async waitGone(pattern: RegExp, o: WaitOptions = {}): Promise<void> {
    const deadline = Date.now() + (o.timeout ?? 20_000);
    for (;;) {
      const text = o.history ? await this.history() : await this.screen();
      if (!pattern.test(text)) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} to go; the terminal shows:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The command's exit code, once it has ended. */
  async exitCode(timeout = 20_000): Promise<number> {
    const m = await this.waitFor(EXIT_MARK, { timeout, history: true });
    return Number(m[1]);
  }

  /** Ends the terminal (and whatever still runs in it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tmux(['kill-server']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Helpers for @inquirer prompts on a {@link Terminal}. */
export class PromptDriver {
  constructor(readonly t: Terminal) {}

  private static source(message: RegExp | string): string {
    return typeof message === 'string' ? message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : message.source;
  }

  /** Waits for the prompt whose message matches to be the one being asked (`? message`). */
  async prompt(message: RegExp | string, timeout?: number): Promise<void> {
    await this.t.waitFor(new RegExp(`^\\? .*${PromptDriver.source(message)}`, 'm'), timeout !== undefined ? { timeout } : {});
  }

  /** How many times a prompt matching `message` has been answered (`✔ message …` lines). */
  async answers(message: RegExp | string): Promise<number> {
    const re = new RegExp(`^✔ .*${PromptDriver.source(message)}`, 'gm');
    return ((await this.t.history()).match(re) ?? []).length;
  }

  /** Presses Enter on the prompt and waits until it is answered (menus come back with the same message). */
  async submit(message: RegExp | string): Promise<void> {
    const before = await this.answers(message);
    await this.t.press('Enter');
    const deadline = Date.now() + 20_000;
    while ((await this.answers(message)) <= before) {
      if (Date.now() > deadline) throw new Error(`${String(message)} was not answered; the terminal shows:\n${await this.t.screen()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Answers an input prompt: waits for it, types the answer (nothing = Enter for the default). */
  async answer(message: RegExp | string, text = ''): Promise<void> {
    await this.prompt(message);
    if (text) await this.t.type(text);
    await this.submit(message);
  }

  /** In the select list being asked, moves the cursor (❯) to the choice containing `choice` and presses Enter. */
  async choose(message: RegExp | string, choice: string, timeout = 20_000): Promise<void> {
    await this.prompt(message);
    const deadline = Date.now() + timeout;
    let last = '';
    let presses = 0;
    while (Date.now() < deadline && presses <= 80) {
      const screen = await this.t.screen();
      const active = screen.split('\n').find((l) => l.startsWith('❯')) ?? '';
      if (active.includes(choice)) {
        await this.submit(message);
        return;
      }
      // One step at a time: press again only once the cursor has moved.
      if (active !== last) {
        last = active;
        presses++;
        await this.t.press('Down');
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    throw new Error(`no choice “${choice}” in the list of ${String(message)}:\n${await this.t.screen()}`);
  }
}
