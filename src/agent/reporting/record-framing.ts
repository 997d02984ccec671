/**
 * Framing of the queue's segment files: each record is `length (u32 LE) | crc32 of the payload
 * (u32 LE) | payload (UTF-8 JSON)`. A reader stops at the first frame that is cut short or whose
 * checksum does not match, so a torn write is told apart from a whole record.
 */

const HEADER_BYTES = 8;
/** Larger frames are treated as corrupt (an item is at most the protocol's body size, 8 MiB). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE), as zlib computes it; zlib.crc32 is newer than the Node versions the agent supports. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function frameRecord(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, HEADER_BYTES);
  return frame;
}

export interface ScannedRecord {
  value: unknown;
  /** Offset just past this record. */
  end: number;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Bytes of whole, valid records from the start; anything after is torn or corrupt. */
  validBytes: number;
  /** Why reading stopped before the end of the buffer, if it did. */
  stoppedBy?: 'torn' | 'checksum' | 'not-json';
}

export function scanRecords(buffer: Buffer): ScanResult {
  const records: ScannedRecord[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (buffer.length - offset < HEADER_BYTES) {
      return { records, validBytes: offset, stoppedBy: 'torn' };
    }
    const length = buffer.readUInt32LE(offset);
    const checksum = buffer.readUInt32LE(offset + 4);
    if (length === 0 || length > MAX_RECORD_BYTES) {
      // A zero-filled tail (blocks allocated but never written) reads as length 0.
      return { records, validBytes: offset, stoppedBy: 'checksum' };
    }
    const end = offset + HEADER_BYTES + length;
    if (end > buffer.length) {
      return { records, validBytes: offset, stoppedBy: 'torn' };
    }
    const payload = buffer.subarray(offset + HEADER_BYTES, end);
    if (crc32(payload) !== checksum) {
      return { records, validBytes: offset, stoppedBy: 'checksum' };
    }
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      return { records, validBytes: offset, stoppedBy: 'not-json' };
    }
    records.push({ value, end });
    offset = end;
  }
  return { records, validBytes: offset };
}
