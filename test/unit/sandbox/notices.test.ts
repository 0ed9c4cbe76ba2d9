import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../src/clock.js';
import { contentDisposition, createNotice, listNotices, updateNotice } from '../../../src/sandbox/notices.js';
import { sampleNotices, seedSamples } from '../../../src/sandbox/samples.js';
import { simplePdf, wrapLine } from '../../../src/sandbox/sample-pdf.js';
import { openSandboxDb, type Db } from '../../../src/sandbox/state.js';
import { isSafeAttachmentName } from '../../../src/transport/portal-manual.js';

describe('the sample user manual PDF', () => {
  const pdf = simplePdf('檢驗(查)結果每日上傳作業 使用手冊', [{ text: '使用手冊', size: 16 }, { text: 'labup (sandbox) \\ sample' }, { text: '一、登入：插入醫事機構卡。' }]);
  const text = pdf.toString('latin1');

  it('is a PDF whose cross-reference table points at each object', () => {
    expect(text.startsWith('%PDF-1.4\n')).toBe(true);
    expect(text.endsWith('%%EOF\n')).toBe(true);
    const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)![1]);
    expect(text.slice(startxref, startxref + 5)).toBe('xref\n');
    const entries = text.slice(startxref).split('\n').slice(3, 12);
    entries.forEach((e, i) => {
      const off = Number(e.slice(0, 10));
      expect(text.slice(off, off + `${i + 1} 0 obj`.length)).toBe(`${i + 1} 0 obj`);
    });
    const len = Number(/\/Length (\d+) >>\nstream\n/.exec(text)![1]);
    const start = text.indexOf('stream\n') + 7;
    expect(text.slice(start + len, start + len + 10)).toBe('\nendstream');
  });

  it('writes Chinese as UCS-2 in the CNS1 font and Latin text escaped in Helvetica', () => {
    expect(text).toContain('/F2 16 Tf <4F7F7528624B518A> Tj');
    expect(text).toContain('/F1 11 Tf (labup \\(sandbox\\) \\\\ sample) Tj');
    expect(text).toContain('/Encoding /UniCNS-UCS2-H');
    expect(text).toContain('/Title <FEFF6AA2');
  });

  it('wraps long lines by display width (CJK counts two)', () => {
    expect(wrapLine('一二三四五', 4)).toEqual(['一二', '三四', '五']);
    expect(wrapLine('abcdef', 4)).toEqual(['abcd', 'ef']);
  });
});

describe('attachment names and downloads', () => {
  it('allows names any system can save, Chinese included', () => {
    for (const ok of ['使用手冊.pdf', 'lab-daily.xsd', '檢驗(查)結果每日上傳作業使用手冊.pdf']) expect(isSafeAttachmentName(ok), ok).toBe(true);
    for (const bad of ['', '.', '..', '../etc/passwd', 'a/b', 'a\\b', 'C:x', 'a\u0000b', 'trailing.', ' lead', 'x'.repeat(121), 'a?b', 'a|b']) expect(isSafeAttachmentName(bad), JSON.stringify(bad)).toBe(false);
  });

  it('names a Chinese file in Content-Disposition with an ASCII fallback and RFC 5987', () => {
    expect(contentDisposition('使用手冊(v2).pdf')).toBe(`attachment; filename="____(v2).pdf"; filename*=UTF-8''%E4%BD%BF%E7%94%A8%E6%89%8B%E5%86%8A%28v2%29.pdf`);
  });
});

describe('notices in the sandbox state', () => {
  let dir: string;
  let db: Db;
  const clock = fixedClock('2026-11-25T21:00:00+08:00');
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'labup-notices-'));
    db = openSandboxDb(join(dir, 'sandbox.db'));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds the samples once, newest first, dated before today, in zh-TW with the manual attached', () => {
    expect(seedSamples(db, clock)).toBe(true);
    expect(seedSamples(db, clock)).toBe(false);
    const list = listNotices(db, new URLSearchParams(), clock);
    expect(list.total).toBe(sampleNotices(clock.now()).length);
    const dates = list.items.map((n) => n.publishedAt);
    expect(dates).toEqual([...dates].sort().reverse());
    expect(list.items.every((n) => n.publishedDate < '115/11/25')).toBe(true);
    const manual = list.items.find((n) => n.title.includes('使用手冊'))!;
    expect(manual.attachments.map((a) => [a.name, a.contentType])).toEqual([
      ['檢驗(查)結果每日上傳作業使用手冊.pdf', 'application/pdf'],
      ['使用手冊摘要.txt', 'text/plain; charset=utf-8'],
    ]);
    expect(list.items.find((n) => n.title.includes('XML Schema'))!.attachments[0]).toMatchObject({ name: 'lab-daily.xsd', size: expect.any(Number) });
    // deleted samples stay deleted
    db.prepare('DELETE FROM notice_attachments').run();
    db.prepare('DELETE FROM notices').run();
    expect(seedSamples(db, clock)).toBe(false);
    expect(listNotices(db, new URLSearchParams(), clock).total).toBe(0);
  });

  it('hides a notice dated later until its day, filters by --since, and pages', () => {
    createNotice(db, { title: '舊公告', body: 'a', publishedAt: '115/11/01' }, clock);
    createNotice(db, { title: '新公告', body: 'b', publishedAt: '2026-11-25T09:00:00+08:00' }, clock);
    createNotice(db, { title: '預告', body: 'c', publishedAt: '115/12/01' }, clock);
    expect(listNotices(db, new URLSearchParams(), clock).items.map((n) => n.title)).toEqual(['新公告', '舊公告']);
    expect(listNotices(db, new URLSearchParams(), clock, true).items.map((n) => n.title)).toEqual(['預告', '新公告', '舊公告']);
    expect(listNotices(db, new URLSearchParams({ since: '1151102' }), clock)).toMatchObject({ total: 1, criteria: { since: '115/11/02' } });
    expect(listNotices(db, new URLSearchParams({ pageSize: '1', page: '2' }), clock)).toMatchObject({ total: 2, totalPages: 2, items: [expect.objectContaining({ title: '舊公告' })] });
    expect(listNotices(db, new URLSearchParams({ sort: 'title', order: 'asc' }), clock).items.map((n) => n.title)).toEqual(['新公告', '舊公告'].sort());
  });

  it('refuses bad notices and attachment names; updates keep what is not given', () => {
    expect(() => createNotice(db, { title: ' ', body: 'x' }, clock)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => createNotice(db, { title: 't', body: 'x', publishedAt: 'soon' }, clock)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => createNotice(db, { title: 't', body: 'x', attachments: [{ name: '../x.txt', data: 'eA==' }] }, clock)).toThrow(expect.objectContaining({ code: 'BAD_ATTACHMENT_NAME' }));
    const n = createNotice(db, { title: 't', body: 'x', attachments: [{ name: 'a.txt', data: Buffer.from('hello').toString('base64') }] }, clock);
    clock.advance(1000);
    const u = updateNotice(db, String(n.id), { body: 'y' }, clock);
    expect(u).toMatchObject({ title: 't', body: 'y', published_at: n.published_at });
    expect(u.updated_at).toBeGreaterThan(n.updated_at);
  });
});
