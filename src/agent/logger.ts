/** JSON-lines logging to stdout: one object per line with time, level, msg and fields. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function errorFields(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    for (const key of ['code', 'status', 'kind'] as const) {
      const v = (value as unknown as Record<string, unknown>)[key];
      if (v !== undefined) {
        out[key] = v;
      }
    }
    return out;
  }
  return value;
}

export function createJsonLogger(minLevel: LogLevel = 'info', write: (line: string) => void = (line) => process.stdout.write(line), now: () => Date = () => new Date()): Logger {
  const log =
    (level: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (ORDER[level] < ORDER[minLevel]) {
        return;
      }
      const entry: Record<string, unknown> = { time: now().toISOString(), level, msg };
      for (const [key, value] of Object.entries(fields)) {
        entry[key] = errorFields(value);
      }
      write(`${JSON.stringify(entry)}\n`);
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
