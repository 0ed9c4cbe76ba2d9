/**
 * 聯絡窗口: whom to ask about the job, as the portal publishes it behind the first of the two small
 * buttons beside 現行作業區. One document (a list of contacts), replaced or edited through the
 * admin API.
 */
import { taipeiIso, type Clock } from '../clock.js';
import { badRequest } from './api-error.js';
import { JOB_CODE, JOB_NAME } from './layout.js';
import type { Db } from './state.js';

export interface Contact {
  /** What the contact is for, e.g. 業務窗口, 系統操作窗口. */
  role: string;
  /** 單位. */
  unit: string;
  /** 聯絡人. */
  name: string;
  /** 電話. */
  phone: string;
  /** 電子郵件. */
  email: string;
  /** 服務時間. */
  hours: string;
  /** Anything else (傳真, 地址…). */
  note?: string;
}

export interface ContactWindowJson {
  job: { name: string; code: string };
  contacts: Contact[];
  updatedAt: string | null;
}

const FIELDS: Array<keyof Contact> = ['role', 'unit', 'name', 'phone', 'email', 'hours', 'note'];
const MAX_FIELD = 300;

export function getContactWindow(db: Db): ContactWindowJson {
  const row = db.prepare('SELECT document, updated_at FROM contact_window WHERE id = 1').get() as { document: string; updated_at: number } | undefined;
  return {
    job: { name: JOB_NAME, code: JOB_CODE },
    contacts: row ? (JSON.parse(row.document) as Contact[]) : [],
    updatedAt: row ? taipeiIso(new Date(row.updated_at)) : null,
  };
}

function checkContact(v: unknown, i: number, base?: Contact): Contact {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('BAD_REQUEST', `contacts[${i}] must be an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.includes(k as keyof Contact)) throw badRequest('BAD_REQUEST', `contacts[${i}].${k} is not a contact field`, `Fields: ${FIELDS.join(', ')}.`);
  const out: Record<string, string> = {};
  for (const k of FIELDS) {
    const val = o[k] ?? base?.[k];
    if (val === undefined) {
      if (k === 'note') continue;
      throw badRequest('BAD_REQUEST', `contacts[${i}].${k} is required`, `Each contact has ${FIELDS.filter((f) => f !== 'note').join(', ')} (note optional).`);
    }
    if (typeof val !== 'string' || val.length > MAX_FIELD || (k !== 'note' && val.trim() === '')) throw badRequest('BAD_REQUEST', `contacts[${i}].${k} must be a non-empty string of at most ${MAX_FIELD} characters`);
    out[k] = val;
  }
  if (!/^[^\s@]+@[^\s@]+$/.test(out.email!)) throw badRequest('BAD_REQUEST', `contacts[${i}].email “${out.email!.slice(0, 60)}” is not an e-mail address`);
  return out as unknown as Contact;
}

/**
 * Sets the window from `{"contacts": [...]}`: `replace` (PUT) takes the list as given; otherwise
 * (PATCH) each given contact is merged field by field into the one at the same position.
 */
export function setContactWindow(db: Db, body: Record<string, unknown>, clock: Clock, replace: boolean): ContactWindowJson {
  if (!Array.isArray(body.contacts) || body.contacts.length > 20) throw badRequest('BAD_REQUEST', 'contacts must be a list of at most 20 contacts');
  const current = getContactWindow(db).contacts;
  const contacts = (body.contacts as unknown[]).map((c, i) => checkContact(c, i, replace ? undefined : current[i]));
  const merged = replace ? contacts : [...contacts, ...current.slice(contacts.length)];
  db.prepare('INSERT INTO contact_window (id, document, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at').run(
    JSON.stringify(merged),
    clock.now().getTime(),
  );
  return getContactWindow(db);
}
