/**
 * The library never prints. It reports what it does as typed, coded messages to an injected
 * {@link IoHost}; the CLI decides what reaches stderr, the log file, or nothing.
 */

export type Level = 'error' | 'warn' | 'info' | 'verbose' | 'debug';

export interface IoMessage {
  level: Level;
  /** Stable code, e.g. `UPLOAD_RETRY`. */
  code: string;
  message: string;
  data?: Record<string, unknown>;
}

export interface Progress {
  /** What is progressing, e.g. `pack`. */
  label: string;
  done: number;
  total?: number;
  unit?: string;
}

export interface IoHost {
  notify(msg: IoMessage): void;
  /** Progress for long operations; hosts without a terminal ignore it. */
  progress?(p: Progress): void;
}

/** A host that drops everything (library default). */
export const silentHost: IoHost = { notify() {} };

/** A host that records messages, for tests. */
export function recordingHost(): IoHost & { messages: IoMessage[] } {
  const messages: IoMessage[] = [];
  return { messages, notify: (m) => messages.push(m) };
}
