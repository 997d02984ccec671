import { FarpointError } from '../../common/errors/farpoint-error';

/** ISO weekday names, Monday first; the order of MaintenanceWindow.days. */
export const WEEKDAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * A recurring window in which a site's clusters take a new desired state: it opens at `start` (local
 * wall-clock time in `timeZone`) on each of `days` and lasts `durationMinutes` of elapsed time, so it
 * may cross midnight (the day is the day it opens). Stored as JSON on the Site.
 */
export interface MaintenanceWindow {
  days: Weekday[];
  /** HH:MM, 24-hour. */
  start: string;
  durationMinutes: number;
  /** IANA zone, e.g. Europe/Berlin. */
  timeZone: string;
}

export const MAX_MAINTENANCE_WINDOWS = 16;
export const MAX_WINDOW_MINUTES = 24 * 60;

/** Stable reasons in the BAD_USER_INPUT details of a refused window (`reason`, with `field` and `path`). */
export const MaintenanceWindowError = {
  TOO_MANY: 'MAINTENANCE_WINDOWS_TOO_MANY',
  DAYS: 'MAINTENANCE_WINDOW_DAYS_INVALID',
  START: 'MAINTENANCE_WINDOW_START_INVALID',
  DURATION: 'MAINTENANCE_WINDOW_DURATION_INVALID',
  TIME_ZONE: 'MAINTENANCE_WINDOW_TIME_ZONE_INVALID',
} as const;

const refuse = (reason: string, path: string, message: string) => new FarpointError('BAD_USER_INPUT', message, { field: 'maintenanceWindows', path, reason });

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

/** The windows as stored (days deduplicated in week order), or BAD_USER_INPUT with a stable `reason`. */
export function validateMaintenanceWindows(windows: MaintenanceWindow[]): MaintenanceWindow[] {
  if (windows.length > MAX_MAINTENANCE_WINDOWS) {
    throw refuse(MaintenanceWindowError.TOO_MANY, 'maintenanceWindows', `A site has at most ${MAX_MAINTENANCE_WINDOWS} maintenance windows.`);
  }
  return windows.map((w, i) => {
    const path = `maintenanceWindows[${i}]`;
    if (w.days.length === 0 || w.days.some((d) => !(WEEKDAYS as readonly string[]).includes(d))) {
      throw refuse(MaintenanceWindowError.DAYS, `${path}.days`, `Window ${i + 1}: days must name at least one of ${WEEKDAYS.join(', ')}.`);
    }
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(w.start)) {
      throw refuse(MaintenanceWindowError.START, `${path}.start`, `Window ${i + 1}: start must be a 24-hour time HH:MM, e.g. 02:30.`);
    }
    if (!Number.isInteger(w.durationMinutes) || w.durationMinutes < 1 || w.durationMinutes > MAX_WINDOW_MINUTES) {
      throw refuse(MaintenanceWindowError.DURATION, `${path}.durationMinutes`, `Window ${i + 1}: durationMinutes must be a whole number from 1 to ${MAX_WINDOW_MINUTES}.`);
    }
    if (!isTimeZone(w.timeZone)) {
      throw refuse(MaintenanceWindowError.TIME_ZONE, `${path}.timeZone`, `Window ${i + 1}: ${JSON.stringify(w.timeZone)} is not an IANA time zone such as Europe/Berlin.`);
    }
    return { days: WEEKDAYS.filter((d) => w.days.includes(d)), start: w.start, durationMinutes: w.durationMinutes, timeZone: w.timeZone };
  });
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall-clock fields of an instant in a zone. */
function wallClock(zone: string, instant: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts = Object.fromEntries(
    formatter(zone)
      .formatToParts(new Date(instant))
      .map((p) => [p.type, Number(p.value)]),
  );
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute, second: parts.second };
}

/** Local time minus UTC at an instant, in ms. */
function offsetAt(zone: string, instant: number): number {
  const w = wallClock(zone, instant);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant a local wall-clock time happens in a zone. Like Temporal's "compatible": a time the
 * clocks skip (spring forward) is moved forward by the gap; a time that happens twice (fall back)
 * is its first occurrence.
 */
export function zonedInstant(zone: string, year: number, month: number, day: number, hour: number, minute: number): number {
  const local = Date.UTC(year, month - 1, day, hour, minute);
  const before = offsetAt(zone, local - 86_400_000);
  const after = offsetAt(zone, local + 86_400_000);
  const valid = [local - before, local - after].filter((instant) => offsetAt(zone, instant) === local - instant);
  if (valid.length > 0) {
    return Math.min(...valid);
  }
  return local - before;
}

export interface WindowAt {
  /** Inside a window now. */
  open: boolean;
  /** When the window open now closes (open), or when the next one opens (closed); null without windows. */
  until: Date | null;
  nextStart: Date | null;
}

/** Openings of a window around `now`: from two days before (a window may reach into today) to eight days after. */
function openings(w: MaintenanceWindow, now: number): number[] {
  const today = wallClock(w.timeZone, now);
  const [hour, minute] = w.start.split(':').map(Number);
  const out: number[] = [];
  for (let k = -2; k <= 8; k++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + k));
    const weekday = WEEKDAYS[(date.getUTCDay() + 6) % 7];
    if (w.days.includes(weekday)) {
      out.push(zonedInstant(w.timeZone, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), hour, minute));
    }
  }
  return out;
}

/** Whether `now` is inside one of the windows, and the next opening (or the end of the open one). No windows: always open. */
export function maintenanceWindowAt(windows: MaintenanceWindow[], now: Date): WindowAt {
  if (windows.length === 0) {
    return { open: true, until: null, nextStart: null };
  }
  const t = now.getTime();
  let closesAt: number | undefined;
  let nextStart: number | undefined;
  for (const w of windows) {
    for (const start of openings(w, t)) {
      const end = start + w.durationMinutes * 60_000;
      if (start <= t && t < end) {
        closesAt = Math.max(closesAt ?? end, end);
      } else if (start > t) {
        nextStart = Math.min(nextStart ?? start, start);
      }
    }
  }
  const next = nextStart === undefined ? null : new Date(nextStart);
  return closesAt !== undefined ? { open: true, until: new Date(closesAt), nextStart: next } : { open: false, until: next, nextStart: next };
}
