/**
 * Prompts through @inquirer/prompts, drawn on stderr so that stdout keeps only results. Without a
 * terminal on both stdin and stderr, every prompt fails at once (exit 2).
 */
import { noTty, type Prompter } from '../prompts.js';
import type { Stream } from './output.js';

export function inquirerPrompter(stdin: NodeJS.ReadableStream & { isTTY?: boolean }, stderr: Stream): Prompter {
  const interactive = stdin.isTTY === true && stderr.isTTY === true;
  const context = { input: stdin, output: stderr as unknown as NodeJS.WritableStream, clearPromptOnDone: false };
  const load = async () => {
    if (!interactive) return undefined;
    return import('@inquirer/prompts');
  };
  return {
    interactive,
    async input(o) {
      const p = await load();
      if (!p) throw noTty(o.message);
      return p.input({ message: o.message, ...(o.default !== undefined ? { default: o.default } : {}), ...(o.validate ? { validate: o.validate } : {}) }, context);
    },
    async password(o) {
      const p = await load();
      if (!p) throw noTty(o.message);
      return p.password({ message: o.message, mask: '*', ...(o.validate ? { validate: o.validate } : {}) }, context);
    },
    async select(o) {
      const p = await load();
      if (!p) throw noTty(o.message);
      return p.select({ message: o.message, choices: o.choices, ...(o.default !== undefined ? { default: o.default } : {}), pageSize: o.pageSize ?? 12 }, context);
    },
    async checkbox(o) {
      const p = await load();
      if (!p) throw noTty(o.message);
      return p.checkbox({ message: o.message, choices: o.choices, pageSize: o.pageSize ?? 12, ...(o.required ? { required: true } : {}) }, context);
    },
    async confirm(o) {
      const p = await load();
      if (!p) throw noTty(o.message);
      return p.confirm({ message: o.message, ...(o.default !== undefined ? { default: o.default } : {}) }, context);
    },
  };
}
