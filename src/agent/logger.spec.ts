import { createJsonLogger } from './logger';

describe(createJsonLogger.name, () => {
  it('writes one JSON object per line with time, level, message, fields and readable errors', () => {
    const lines: string[] = [];
    const log = createJsonLogger(
      'info',
      (l) => lines.push(l),
      () => new Date('2026-11-26T10:00:00Z'),
    );
    const error = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    log.debug('hidden');
    log.warn('send failed', { error, attempt: 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0])).toEqual({
      time: '2026-11-26T10:00:00.000Z',
      level: 'warn',
      msg: 'send failed',
      error: { name: 'Error', message: 'refused', code: 'ECONNREFUSED' },
      attempt: 2,
    });
  });
});
