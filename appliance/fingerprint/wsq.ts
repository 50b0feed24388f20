/**
 * Just enough of WSQ (FBI IAFIS-IC-0110) to check a record's stated size against its image: the
 * frame header (SOF, 0xFFA2) gives the lines and samples per line. Markers are walked by their
 * segment lengths, bounded by the data present; nothing is decoded.
 */
const SOI = 0xffa0;
const SOF = 0xffa2;

export type WsqFrame = { readonly width: number; readonly height: number };

/** The frame size, or undefined if the data is not a WSQ stream with a frame header. */
export function wsqFrame(data: Buffer): WsqFrame | undefined {
  if (data.length < 4 || data.readUInt16BE(0) !== SOI) return undefined;
  let pos = 2;
  // Table segments (DTT, DQT, DHT, COM) come before the frame header; each has a length.
  for (let segments = 0; segments < 64 && pos + 4 <= data.length; segments++) {
    const marker = data.readUInt16BE(pos);
    if ((marker & 0xff00) !== 0xff00) return undefined;
    const length = data.readUInt16BE(pos + 2);
    if (marker === SOF) {
      if (length < 17 || pos + 2 + length > data.length) return undefined;
      return { height: data.readUInt16BE(pos + 6), width: data.readUInt16BE(pos + 8) };
    }
    if (length < 2) return undefined;
    pos += 2 + length;
  }
  return undefined;
}
