import { describe, expect, it } from 'vitest';
import { chmodSync } from 'node:fs';
import { LabupError } from '../../../src/errors.js';
import { completePersonId } from '../../../src/format/national-id.js';
import { nonInteractivePrompter, scriptedPrompter } from '../../../src/prompts.js';
import { downloadPassword, normalizeUserId, userIdAsker, userIdProblem } from '../../../src/archive/user-id.js';
import { scratch } from './scratch.js';

const USER_ID = 'A123456789';
const RESIDENT_OLD = completePersonId('AB12345678'.slice(0, 9));

function thrown(fn: () => unknown): LabupError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LabupError);
    return err as LabupError;
  }
  throw new Error('expected an error');
}

describe('downloadPassword (the portal’s rule: the ID, first letter uppercase)', () => {
  it.each([
    ['a123456789', USER_ID],
    ['  A123456789\n', USER_ID],
    ['ａ１２３４５６７８９', USER_ID],
    ['a 1234 56789', USER_ID],
    [RESIDENT_OLD.toLowerCase(), RESIDENT_OLD],
  ])('turns %j into the password', (typed, password) => {
    expect(downloadPassword(typed)).toBe(password);
  });

  it('refuses an ID whose checksum fails, masked, naming where it came from', () => {
    const err = thrown(() => downloadPassword('a123456788', 'LABUP_USER_ID'));
    expect(err.code).toBe('USER_ID_INVALID');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('LABUP_USER_ID: “A12****788” fails its checksum (a digit is mistyped)');
    expect(JSON.stringify(err.toJSON())).not.toMatch(/A123456788/i);
  });

  it('explains an ID of the wrong length or shape', () => {
    expect(userIdProblem(normalizeUserId('A12345678'))).toMatch(/has 9 characters/);
    expect(userIdProblem(normalizeUserId('A323456789'))).toMatch(/not shaped like/);
    expect(userIdProblem(USER_ID)).toBeNull();
  });
});

describe('userIdAsker', () => {
  it('takes LABUP_USER_ID first, typed in lowercase, without prompting', async () => {
    const prompter = scriptedPrompter([]);
    const ask = userIdAsker({ env: { LABUP_USER_ID: 'a123456789' }, prompter });
    expect(await ask(false)).toEqual({ id: USER_ID, source: 'LABUP_USER_ID', canAskAgain: false });
    expect(prompter.asked).toEqual([]);
  });

  it('reads the profile’s userIdSource (a file here), and never names the value', async () => {
    const s = scratch();
    try {
      const file = s.write('id', 'a123456789\n');
      chmodSync(file, 0o600);
      const ask = userIdAsker({ env: {}, userIdSource: `file:${file}`, prompter: nonInteractivePrompter });
      expect(await ask(false)).toEqual({ id: USER_ID, source: `userIdSource file:${file}`, canAskAgain: false });
      s.write('id', 'a123456788\n');
      const err = await ask(false).catch((e: LabupError) => e);
      expect(err).toMatchObject({ code: 'USER_ID_INVALID' });
      expect((err as LabupError).message).not.toContain('A123456788');
    } finally {
      s.remove();
    }
  });

  it('prompts on a terminal, re-asks inline while the checksum fails, and accepts lowercase', async () => {
    // given a person at the terminal
    const answers: string[] = ['a123456789'];
    const seenValidations: Array<true | string> = [];
    const prompter = {
      ...scriptedPrompter([]),
      async password(o: { message: string; validate?: (v: string) => true | string }) {
        seenValidations.push(o.validate!('a123456788'), o.validate!('a12345'), o.validate!('a123456789'));
        return answers.shift()!;
      },
    };
    // when asked
    const answer = await userIdAsker({ env: {}, prompter })(false);
    // then the typo would have been caught at the prompt, and the answer is normalised
    expect(seenValidations).toEqual(['That fails its checksum (a digit is mistyped).', 'That has 6 characters, an ID has 10 (a letter and 9 digits).', true]);
    expect(answer).toEqual({ id: USER_ID, source: 'prompt', canAskAgain: true });
  });

  it('fails at once without a terminal and without a source (exit 2)', async () => {
    const err = await userIdAsker({ env: {}, prompter: nonInteractivePrompter })(false).catch((e: LabupError) => e);
    expect(err).toMatchObject({ code: 'USER_ID_MISSING', exitCode: 2 });
    expect((err as LabupError).hint).toMatch(/LABUP_USER_ID/);
  });

  it('with userIdSource=prompt and no terminal, fails the same way', async () => {
    const err = await userIdAsker({ env: {}, userIdSource: 'prompt', prompter: nonInteractivePrompter })(false).catch((e: LabupError) => e);
    expect(err).toMatchObject({ code: 'USER_ID_MISSING', exitCode: 2 });
  });
});
