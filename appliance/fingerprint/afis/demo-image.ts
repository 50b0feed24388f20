import type { FingerTemplate, Minutia } from './minutiae.js';
import { minutiaKind, minutiaKindCode } from './minutiae.js';

/**
 * Demo images. The demo AFIS does not decode WSQ, and a vendor AFIS extracts minutiae from the
 * pixels; as the demo's stand-in for that extraction, the synthetic ten-print images of the demo
 * network and the tests carry their minutiae in a WSQ comment segment (COM, 0xFFA8). The stream is
 * otherwise framed as WSQ (SOI, COM, SOF with the image size, filler, EOI), so the codec's WSQ frame
 * check accepts it. Images without the comment — any real image — give the demo AFIS no minutiae.
 */
const SOI = 0xffa0;
const EOI = 0xffa1;
const SOF = 0xffa2;
const COM = 0xffa8;
const TAG = 'PRUEM-DEMO-MINUTIAE';
/** A COM segment's length field is 16 bits and counts itself. */
const MAX_COMMENT = 0xffff - 2;

function segment(marker: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(marker, 0);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

export function demoWsqImage(finger: FingerTemplate, width: number, height: number, filler = minimumFiller(width, height)): Buffer {
  const text = `${TAG} ${finger.minutiae.map((m) => `${Math.round(m.x)},${Math.round(m.y)},${Math.round(m.theta / 2) % 180},${minutiaKindCode(m.kind)},${m.quality}`).join(';')}`;
  const comment = Buffer.from(text, 'ascii');
  if (comment.length > MAX_COMMENT) throw new RangeError('too many minutiae for one comment segment');
  return wsqFrame(width, height, filler, finger.minutiae.length ? [segment(COM, comment)] : []);
}

/** A WSQ-framed stand-in image with no minutiae (a latent's Type 13 image in the demo). */
export function plainWsqImage(width: number, height: number, filler = minimumFiller(width, height)): Buffer {
  return wsqFrame(width, height, filler, []);
}

function wsqFrame(width: number, height: number, filler: number, extra: Buffer[]): Buffer {
  // SOF body (17 bytes counted with the length): black, white, height, width, then scale factors.
  const sof = Buffer.alloc(15);
  sof.writeUInt8(0, 0);
  sof.writeUInt8(255, 1);
  sof.writeUInt16BE(height, 2);
  sof.writeUInt16BE(width, 4);
  const start = Buffer.alloc(2);
  start.writeUInt16BE(SOI, 0);
  const end = Buffer.alloc(2);
  end.writeUInt16BE(EOI, 0);
  // Filler bytes stand for the compressed data; no 0xFF so no marker is imitated.
  const data = Buffer.alloc(filler, 0x5a);
  return Buffer.concat([start, ...extra, segment(SOF, sof), data, end]);
}

/** The minutiae a demo image carries, or null (no comment, or not ours). Bounded by the data present. */
export function demoImageMinutiae(image: Buffer): Minutia[] | null {
  if (image.length < 4 || image.readUInt16BE(0) !== SOI) return null;
  let pos = 2;
  for (let segments = 0; segments < 16 && pos + 4 <= image.length; segments++) {
    const marker = image.readUInt16BE(pos);
    const length = image.readUInt16BE(pos + 2);
    if ((marker & 0xff00) !== 0xff00 || length < 2 || pos + 2 + length > image.length) return null;
    if (marker === COM) {
      const text = image.subarray(pos + 4, pos + 2 + length).toString('latin1');
      if (text.startsWith(`${TAG} `)) return parseMinutiae(text.slice(TAG.length + 1));
    }
    if (marker === SOF) return null;
    pos += 2 + length;
  }
  return null;
}

function parseMinutiae(text: string): Minutia[] | null {
  const out: Minutia[] = [];
  for (const item of text.split(';')) {
    const parts = item.split(',');
    if (parts.length !== 5 || !parts.every((p) => /^\d{1,5}$/.test(p))) return null;
    const [x, y, theta, kind, quality] = parts.map(Number) as [number, number, number, number, number];
    if (theta > 179) return null;
    out.push({ x, y, theta: theta * 2, kind: minutiaKind(kind), quality });
  }
  return out;
}

/** WSQ for Type 4 is allowed at most 15:1 (Annex ch.2 §1.3): the stand-in data is sized like a 14:1 image. */
function minimumFiller(width: number, height: number): number {
  return Math.ceil((width * height) / 14);
}
