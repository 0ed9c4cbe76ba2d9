/** A throw-away folder per test, and a listing of everything in it, to assert what was written. */
import { mkdtempSync, readdirSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export interface Scratch {
  root: string;
  path(...parts: string[]): string;
  write(name: string, data: Uint8Array | string): string;
  /** Every path under the root (files, folders, links; hidden ones too), relative, sorted. */
  tree(): string[];
  remove(): void;
}

export function scratch(prefix = 'labup-archive-'): Scratch {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const tree = (): string[] => {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        const st = lstatSync(p);
        out.push(relative(root, p) + (st.isDirectory() ? '/' : st.isSymbolicLink() ? '@' : ''));
        if (st.isDirectory()) walk(p);
      }
    };
    walk(root);
    return out.sort();
  };
  return {
    root,
    path: (...parts) => join(root, ...parts),
    write(name, data) {
      const p = join(root, name);
      writeFileSync(p, data);
      return p;
    },
    tree,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
