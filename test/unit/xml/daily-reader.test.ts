import { describe, expect, it } from 'vitest';
import { check, codes, lab, xml } from '../../helpers/xml.js';

const wrap = (inner: string, enc = 'UTF-8') => `<?xml version="1.0" encoding="${enc}"?>\n<patient>\n${inner}\n</patient>\n`;

describe('the streaming daily XML reader', () => {
  it('reads a valid file identically whatever the chunk size', () => {
    // given a valid Big5 file with Chinese values
    const bytes = xml([lab(1, 3), lab(2, 0), lab(3, 4)]);
    // when it is read in 1-byte, 7-byte and whole chunks
    const reports = [1, 7, bytes.length].map((n) => check(bytes, n));
    // then every read agrees and finds nothing
    for (const r of reports) {
      expect(r.errors).toEqual([]);
      expect(r.counts).toEqual({ hdata: 3, rdata: 8 + 1 + 5 });
      expect(r.encoding).toBe('big5');
    }
  });

  it('reports line and column of the field element', () => {
    const text = xml([lab(1, 0)], 'utf-8').toString('utf8').replace(/<h6>01<\/h6>/, '<h6>0Z</h6>');
    const r = check(text);
    const f = r.errors.find((e) => e.code === 'FIELD_CODE')!;
    const lines = text.split('\n');
    expect(lines[f.line! - 1]!.indexOf('<h6>') + 1).toBe(f.column);
    expect(f).toMatchObject({ field: 'h6', fieldName: '就醫類別', hdata: 1, rdata: null, nhiCode: '21' });
  });

  it('counts columns in characters on lines holding Chinese', () => {
    const text = wrap(`<hdata><h1>1</h1><h22>血液</h22><h99>x</h99></hdata>`);
    const r = check(text);
    const f = r.errors.find((e) => e.code === 'XML_ELEMENT_UNKNOWN')!;
    const line = text.split('\n')[f.line! - 1]!;
    expect([...line.slice(0, line.indexOf('<h99>'))].length + 1).toBe(f.column);
  });

  it('refuses a DOCTYPE before reading anything (no XXE, no entity expansion)', () => {
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<patient>&lol2;</patient>`;
    const r = check(bomb);
    expect(codes(r)).toEqual(['XML_DOCTYPE']);
  });

  it('wants the five XML specials full-width: an entity or a raw quote is an error', () => {
    for (const v of ['a &amp; b', 'x &lt; 5', "it's", 'say "hi"', '5 > 3', 'a &#60; b', '<![CDATA[a<b]]>']) {
      const r = check(wrap(`<hdata><h22>${v}</h22></hdata>`));
      expect(codes(r), v).toContain('VALUE_XML_SPECIAL');
    }
    const ok = check(wrap(`<hdata><h22>a ＆ b ＜5 ’ ＂</h22></hdata>`));
    expect(codes(ok)).not.toContain('VALUE_XML_SPECIAL');
  });

  it('stops at malformed XML with a clear message', () => {
    expect(check(wrap('<hdata><h1>1</h2></hdata>')).errors[0]!.message).toMatch(/does not match <h1>/);
    expect(check(wrap('<hdata><h1>1 & 2</h1></hdata>')).errors[0]!.code).toBe('XML_SYNTAX');
    expect(check('<?xml version="1.0"?><patient><hdata><h1>1</h1>').errors.at(-1)!.message).toMatch(/never closed/);
    expect(check('').errors[0]!.code).toBe('XML_SYNTAX');
    expect(check('<patient></patient><patient></patient>').errors.map((e) => e.code)).toContain('XML_SYNTAX');
  });

  it('checks structure: root, order, duplicates, unknown elements, attributes, text', () => {
    expect(codes(check(wrap('<hdata><h2>3501200000</h2><h1>1</h1></hdata>')))).toContain('XML_ELEMENT_ORDER');
    expect(codes(check(wrap('<hdata><h1>1</h1><h1>1</h1></hdata>')))).toContain('XML_ELEMENT_DUPLICATE');
    expect(codes(check(wrap('<hdata><h31>1</h31></hdata>')))).toContain('XML_ELEMENT_UNKNOWN');
    expect(codes(check(wrap('<hdata><r1>1</r1></hdata>')))).toContain('XML_ELEMENT_ORDER');
    expect(codes(check(wrap('<hdata id="1"><h1>1</h1></hdata>')))).toContain('XML_ATTRIBUTE');
    expect(codes(check(wrap('<hdata>text<h1>1</h1></hdata>')))).toContain('XML_TEXT');
    expect(codes(check(wrap('<hdata><h1><b>1</b></h1></hdata>')))).toContain('XML_NESTED');
    expect(codes(check('<?xml version="1.0"?><data><hdata/></data>'))).toContain('XML_ROOT');
    expect(codes(check('<?xml version="1.0"?><patient></patient>'))).toEqual(['XML_NO_HDATA']);
  });

  it('treats Big5 per code page 950 and names the bytes it cannot decode', () => {
    const bad = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="Big5"?><patient><hdata><h22>', 'latin1'), Buffer.from([0x88, 0x40]), Buffer.from('</h22></hdata></patient>', 'latin1')]);
    const f = check(bad).errors.find((e) => e.code === 'XML_BYTES')!;
    expect(f.message).toMatch(/88 40/);
    expect(f.hint).toMatch(/HKSCS/);
  });

  it('says so when a Big5 declaration covers UTF-8 bytes, and the other way round', () => {
    const utf8 = Buffer.from(wrap('<hdata><h22>靜脈血液</h22></hdata>', 'Big5'), 'utf8');
    expect(check(utf8).errors.find((e) => e.code === 'XML_BYTES')!.hint).toMatch(/look like UTF-8/);
    const big5 = xml([lab(1)]).toString('latin1').replace('encoding="Big5"', 'encoding="UTF-8"');
    expect(check(Buffer.from(big5, 'latin1')).errors.find((e) => e.code === 'XML_BYTES')!.hint).toMatch(/not UTF-8/);
    expect(codes(check('\uFEFF<?xml version="1.0" encoding="Big5"?><patient/>'))).toEqual(['XML_ENCODING']);
    expect(codes(check('<?xml version="1.0" encoding="Big5-HKSCS"?><patient/>'))).toEqual(['XML_ENCODING']);
  });

  it('refuses a token longer than 8 MiB instead of buffering without end', () => {
    const huge = Buffer.alloc(9 * 1024 * 1024, 0x61);
    const r = check(Buffer.concat([Buffer.from('<?xml version="1.0"?><patient><hdata><h22>'), huge]), 1 << 20);
    expect(r.errors[0]!.message).toMatch(/longer than 8 MiB/);
  });
});
