/**
 * Which archive entry names may become files under an output folder. A name is refused, never
 * repaired: a downloaded archive whose names try to climb out of the folder is hostile or broken,
 * and the user should learn that rather than get files somewhere unexpected.
 */

export type UnsafeNameReason =
  | 'empty'
  | 'absolute'
  | 'drive-letter'
  | 'backslash'
  | 'parent-segment'
  | 'dot-segment'
  | 'empty-segment'
  | 'control-character'
  | 'colon'
  | 'reserved-name'
  | 'trailing-dot-or-space';

export type EntryNameCheck = { ok: true; segments: string[] } | { ok: false; reason: UnsafeNameReason };

const REASON_TEXT: Record<UnsafeNameReason, string> = {
  empty: 'the name is empty',
  absolute: 'it is an absolute path',
  'drive-letter': 'it starts with a drive letter',
  backslash: 'it contains a backslash (a Windows path separator)',
  'parent-segment': 'it climbs out of the folder with “..”',
  'dot-segment': 'it contains a “.” path segment',
  'empty-segment': 'it contains an empty path segment (“//”)',
  'control-character': 'it contains a control character',
  colon: 'it contains a colon (a drive or alternate-stream marker on Windows)',
  'reserved-name': 'it uses a name Windows reserves for devices (CON, NUL, COM1 …)',
  'trailing-dot-or-space': 'a path segment ends with a dot or a space (Windows would rename it)',
};

export function describeUnsafeName(reason: UnsafeNameReason): string {
  return REASON_TEXT[reason];
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * Checks one entry name (as stored, `/`-separated). Directory entries keep their trailing `/`,
 * which is ignored here. The same rules apply on every platform, so an archive is refused (or
 * accepted) the same way on Linux, macOS and Windows.
 */
export function checkEntryName(name: string): EntryNameCheck {
  const body = name.endsWith('/') ? name.slice(0, -1) : name;
  if (body === '') return { ok: false, reason: 'empty' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(body)) return { ok: false, reason: 'control-character' };
  if (body.includes('\\')) return { ok: false, reason: body.startsWith('\\') ? 'absolute' : 'backslash' };
  if (body.startsWith('/')) return { ok: false, reason: 'absolute' };
  if (/^[A-Za-z]:/.test(body)) return { ok: false, reason: 'drive-letter' };
  const segments = body.split('/');
  for (const s of segments) {
    if (s === '..') return { ok: false, reason: 'parent-segment' };
  }
  for (const s of segments) {
    if (s === '') return { ok: false, reason: 'empty-segment' };
    if (s === '.') return { ok: false, reason: 'dot-segment' };
    if (s.includes(':')) return { ok: false, reason: 'colon' };
    if (WINDOWS_RESERVED.test(s)) return { ok: false, reason: 'reserved-name' };
    if (/[. ]$/.test(s)) return { ok: false, reason: 'trailing-dot-or-space' };
  }
  return { ok: true, segments };
}

/** The key two names collide on, on a case-insensitive or normalising file system (macOS, Windows). */
export function collisionKey(segments: readonly string[]): string {
  return segments.map((s) => s.normalize('NFC').toLowerCase()).join('/');
}
