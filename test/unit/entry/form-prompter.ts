/**
 * A prompter for the entry form in tests: scripted answers are matched to prompts in order (a
 * prompt that does not match the next step takes its default, as a person pressing Enter would).
 * Input answers go through the prompt's own validation; a refused answer is recorded and the next
 * step for the same prompt is the retyped answer.
 */
import type { Choice, Prompter } from '../../../src/prompts.js';

export type Match = RegExp | string;
export interface Step {
  match: Match;
  answer: unknown;
}

export interface FormPrompter extends Prompter {
  /** Every prompt's message, in order. */
  asked: string[];
  /** Answers the prompt's validation refused, with its message. */
  refused: Array<{ message: string; answer: string; error: string }>;
  /** Steps not used. */
  remaining(): Step[];
}

/** The prompt of a field: `h1` matches `*h1 報告類別 …` but not `h10`; `r4@2` matches item #2. */
export function field(id: string): RegExp {
  const [name, item] = id.split('@');
  const esc = name!.replace(/-/g, '\\-');
  return item ? new RegExp(`#${item} ${esc} `) : new RegExp(`(^|[ *])${esc} `);
}

const matches = (m: Match, message: string) => (typeof m === 'string' ? message.includes(m) : m.test(message));

export function formPrompter(steps: Step[]): FormPrompter {
  const queue = [...steps];
  const asked: string[] = [];
  const refused: FormPrompter['refused'] = [];
  const take = (message: string): { found: boolean; answer?: unknown } => {
    asked.push(message);
    const next = queue[0];
    if (next && matches(next.match, message)) {
      queue.shift();
      return { found: true, answer: next.answer };
    }
    return { found: false };
  };
  const firstEnabled = <T>(choices: Array<Choice<T>>) => choices.find((c) => !c.disabled)?.value;
  return {
    interactive: true,
    asked,
    refused,
    remaining: () => [...queue],
    async input(o) {
      let t = take(o.message);
      for (;;) {
        const typed = t.found ? String(t.answer) : '';
        const answer = typed === '' && o.default !== undefined ? o.default : typed;
        const v = o.validate ? o.validate(answer) : true;
        if (v === true) return answer;
        if (!t.found) throw new Error(`prompt “${o.message}”: no scripted answer, and “${answer}” is refused: ${v}`);
        refused.push({ message: o.message, answer, error: v });
        const again = queue[0];
        if (!again || !matches(again.match, o.message)) throw new Error(`prompt “${o.message}” refused “${answer}” (${v}) and no retyped answer follows`);
        queue.shift();
        t = { found: true, answer: again.answer };
      }
    },
    async password(o) {
      const t = take(o.message);
      if (!t.found) throw new Error(`no scripted password for “${o.message}”`);
      return String(t.answer);
    },
    async select<T>(o: { message: string; choices: Array<Choice<T>>; default?: T }) {
      const t = take(o.message);
      if (!t.found) {
        const d = o.default !== undefined && o.choices.some((c) => c.value === o.default) ? o.default : firstEnabled(o.choices);
        return d as T;
      }
      const want = t.answer;
      const choice = o.choices.find((c) => c.value === want) ?? (typeof want === 'string' ? o.choices.find((c) => c.name.startsWith(want)) : undefined);
      if (!choice) throw new Error(`select “${o.message}”: no choice ${JSON.stringify(want)} among ${o.choices.map((c) => JSON.stringify(c.value)).join(', ')}`);
      if (choice.disabled) throw new Error(`select “${o.message}”: choice ${JSON.stringify(want)} is disabled`);
      return choice.value;
    },
    async checkbox<T>(o: { message: string; choices: Array<Choice<T>> }) {
      const t = take(o.message);
      if (!t.found) return o.choices.filter((c) => c.checked).map((c) => c.value);
      const want = t.answer as T[];
      for (const w of want) {
        const c = o.choices.find((x) => x.value === w);
        if (!c) throw new Error(`checkbox “${o.message}”: no choice ${JSON.stringify(w)}`);
        if (c.disabled) throw new Error(`checkbox “${o.message}”: choice ${JSON.stringify(w)} is disabled`);
      }
      return want;
    },
    async confirm(o) {
      const t = take(o.message);
      return t.found ? Boolean(t.answer) : (o.default ?? false);
    },
  };
}
