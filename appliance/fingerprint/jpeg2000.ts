/**
 * Just enough of JPEG 2000 (ISO 15444-1) to check a Type 13/15 record's stated size against its
 * image, as wsq.ts does for WSQ: a raw codestream (J2K: SOC 0xFF4F then SIZ 0xFF51, whose Xsiz−XOsiz
 * and Ysiz−YOsiz are the image size) or a JP2 file (signature box, then boxes; the `ihdr` box inside
 * `jp2h` gives HEIGHT and WIDTH). Box lengths are checked against the data present; nothing is decoded.
 */
export type Jpeg2000Frame = { readonly width: number; readonly height: number };

const JP2_SIGNATURE = Buffer.from([0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);

function codestream(data: Buffer, at: number): Jpeg2000Frame | undefined {
  // SOC, SIZ marker, Lsiz(2), Rsiz(2), Xsiz, Ysiz, XOsiz, YOsiz (4 each).
  if (at + 4 + 2 + 2 + 16 > data.length) return undefined;
  if (data.readUInt16BE(at) !== 0xff4f || data.readUInt16BE(at + 2) !== 0xff51) return undefined;
  const p = at + 8;
  const [x, y, xo, yo] = [data.readUInt32BE(p), data.readUInt32BE(p + 4), data.readUInt32BE(p + 8), data.readUInt32BE(p + 12)];
  if (xo >= x || yo >= y) return undefined;
  return { width: x - xo, height: y - yo };
}

/** Walks the boxes in [start, end) and returns the first `type` box's content range. */
function findBox(data: Buffer, start: number, end: number, type: string): { start: number; end: number } | undefined {
  let pos = start;
  for (let boxes = 0; boxes < 256 && pos + 8 <= end; boxes++) {
    let length = data.readUInt32BE(pos);
    const name = data.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (length === 1) {
      if (pos + 16 > end) return undefined;
      const big = data.readBigUInt64BE(pos + 8);
      if (big > BigInt(end - pos)) return undefined;
      length = Number(big);
      header = 16;
    } else if (length === 0) {
      length = end - pos;
    }
    if (length < header || pos + length > end) return undefined;
    if (name === type) return { start: pos + header, end: pos + length };
    pos += length;
  }
  return undefined;
}

/** The image size of a JP2 file or J2K codestream, or undefined if it is neither (or is cut short). */
export function jpeg2000Frame(data: Buffer): Jpeg2000Frame | undefined {
  if (data.length >= 4 && data.readUInt16BE(0) === 0xff4f) return codestream(data, 0);
  if (data.length < JP2_SIGNATURE.length || !data.subarray(0, JP2_SIGNATURE.length).equals(JP2_SIGNATURE)) return undefined;
  const header = findBox(data, JP2_SIGNATURE.length, data.length, 'jp2h');
  if (!header) return undefined;
  const ihdr = findBox(data, header.start, header.end, 'ihdr');
  if (!ihdr || ihdr.end - ihdr.start < 14) return undefined;
  const height = data.readUInt32BE(ihdr.start);
  const width = data.readUInt32BE(ihdr.start + 4);
  return width > 0 && height > 0 ? { width, height } : undefined;
}
