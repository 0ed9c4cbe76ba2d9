/**
 * A small one-page PDF written by hand, for the sandbox's sample user manual. Latin lines use
 * Helvetica; Chinese lines use the Traditional Chinese font every PDF viewer knows without
 * embedding (MSung-Light, Adobe-CNS1, `UniCNS-UCS2-H`: text as UCS-2), so no font file is shipped.
 */

export interface PdfLine {
  text: string;
  /** Points (default 11). */
  size?: number;
}

/** UTF-16BE hex of the BMP text (characters outside it become U+3013 〓). */
function ucs2Hex(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    out += (c > 0xffff ? 0x3013 : c).toString(16).padStart(4, '0');
  }
  return out.toUpperCase();
}

function latinLiteral(text: string): string {
  return '(' + text.replace(/[\\()]/g, (c) => '\\' + c).replace(/[^\x20-\x7e]/g, '?') + ')';
}

const isLatin = (text: string) => /^[\x20-\x7e]*$/.test(text);

/** Wraps a line to at most `width` display columns (CJK characters count two). */
export function wrapLine(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  let cols = 0;
  for (const ch of text) {
    const w = ch.codePointAt(0)! > 0x2e7f ? 2 : 1;
    if (cols + w > width && line) {
      out.push(line);
      line = '';
      cols = 0;
    }
    line += ch;
    cols += w;
  }
  out.push(line);
  return out;
}

/** The PDF bytes: one A4 page with the lines top-down, a document title in the Info dictionary. */
export function simplePdf(title: string, lines: PdfLine[]): Buffer {
  const ops: string[] = ['BT', '50 800 Td'];
  let first = true;
  for (const l of lines) {
    const size = l.size ?? 11;
    const lead = Math.round(size * 1.6);
    for (const part of wrapLine(l.text, size > 12 ? 56 : 84)) {
      if (!first) ops.push(`0 -${lead} Td`);
      first = false;
      ops.push(isLatin(part) ? `/F1 ${size} Tf ${latinLiteral(part)} Tj` : `/F2 ${size} Tf <${ucs2Hex(part)}> Tj`);
    }
  }
  ops.push('ET');
  const content = ops.join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 8 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    '<< /Type /Font /Subtype /Type0 /BaseFont /MSung-Light /Encoding /UniCNS-UCS2-H /DescendantFonts [6 0 R] >>',
    '<< /Type /Font /Subtype /CIDFontType0 /BaseFont /MSung-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (CNS1) /Supplement 1 >> /FontDescriptor 7 0 R /DW 1000 /W [1 95 500] >>',
    '<< /Type /FontDescriptor /FontName /MSung-Light /Flags 6 /FontBBox [-160 -249 1015 888] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
    `<< /Title <FEFF${ucs2Hex(title)}> /Producer (labup sandbox) >>`,
  ];
  let pdf = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(pdf, 'latin1'));
    pdf += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf, 'latin1');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) pdf += `${String(off).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info ${objects.length} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}
