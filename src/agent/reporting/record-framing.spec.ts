import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, frameRecord, scanRecords } from './record-framing';

describe('record framing', () => {
  it('computes the CRC-32 zlib computes', () => {
    for (const text of ['', 'a', 'farpoint report queue', '\u00e9\u4e16\u754c']) {
      const bytes = Buffer.from(text, 'utf8');
      expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    }
  });

  it('reads back whole records and stops at a torn, corrupt or zero-filled tail', () => {
    const records = [{ a: 1 }, { b: 'two' }, { c: [3] }].map(frameRecord);
    const all = Buffer.concat(records);
    expect(scanRecords(all)).toEqual({ records: [{ value: { a: 1 }, end: records[0].length }, expect.anything(), expect.anything()], validBytes: all.length });
    const firstTwo = records[0].length + records[1].length;
    expect(scanRecords(all.subarray(0, all.length - 1))).toMatchObject({ validBytes: firstTwo, stoppedBy: 'torn' });
    expect(scanRecords(all.subarray(0, firstTwo + 3))).toMatchObject({ validBytes: firstTwo, stoppedBy: 'torn' });
    const flipped = Buffer.from(all);
    flipped[firstTwo + 9] ^= 0x20;
    expect(scanRecords(flipped)).toMatchObject({ validBytes: firstTwo, stoppedBy: 'checksum' });
    expect(scanRecords(Buffer.concat([all, Buffer.alloc(4096)]))).toMatchObject({ validBytes: all.length, stoppedBy: 'checksum' });
  });
});
