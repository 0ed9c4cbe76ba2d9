/**
 * Prompts as an injected capability. Without a terminal, every prompt fails at once with a coded
 * error (exit 2) instead of waiting for input that cannot come.
 */
import { usageError } from './errors.js';

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
  checked?: boolean;
  disabled?: boolean | string;
}

export interface Prompter {
  /** True when a person can answer (stdin and stderr are terminals). */
  readonly interactive: boolean;
  input(opts: { message: string; default?: string; validate?: (value: string) => true | string }): Promise<string>;
  password(opts: { message: string; validate?: (value: string) => true | string }): Promise<string>;
  select<T>(opts: { message: string; choices: Array<Choice<T>>; default?: T; pageSize?: number }): Promise<T>;
  checkbox<T>(opts: { message: string; choices: Array<Choice<T>>; pageSize?: number; required?: boolean }): Promise<T[]>;
  confirm(opts: { message: string; default?: boolean }): Promise<boolean>;
}

export function noTty(what: string) {
  return usageError('NO_TTY', `${what}: no terminal to ask on`, {
    hint: 'Run it in a terminal, or give the value non-interactively (environment variable, file, command, or --json input).',
  });
}

/** A prompter for unattended runs: every prompt is a coded error. */
export const nonInteractivePrompter: Prompter = {
  interactive: false,
  input: async (o) => {
    throw noTty(o.message);
  },
  password: async (o) => {
    throw noTty(o.message);
  },
  select: async (o) => {
    throw noTty(o.message);
  },
  checkbox: async (o) => {
    throw noTty(o.message);
  },
  confirm: async (o) => {
    throw noTty(o.message);
  },
};

/** A prompter answering from a script of answers, for tests. */
export function scriptedPrompter(answers: unknown[]): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = async (o: { message: string }) => {
    asked.push(o.message);
    if (answers.length === 0) throw new Error(`no scripted answer for “${o.message}”`);
    return answers.shift();
  };
  return {
    interactive: true,
    asked,
    input: next as Prompter['input'],
    password: next as Prompter['password'],
    select: next as Prompter['select'],
    checkbox: next as Prompter['checkbox'],
    confirm: next as Prompter['confirm'],
  };
}
