/** `contact`: the job's 聯絡窗口 as the portal publishes it (no sign-in needed). */
import { portalError } from '../errors.js';
import type { PortalClient } from './portal-client.js';
import type { ContactWindow } from './portal-manual.js';

export async function contactWindow(client: PortalClient): Promise<ContactWindow> {
  const c = await client.getContactWindow();
  if (!Array.isArray(c.contacts)) throw portalError('PORTAL_BAD_ANSWER', 'the portal’s contact window is not a list of contacts');
  return c;
}
