import { FarpointError } from '../../common/errors/farpoint-error';
import { maintenanceWindowAt, type MaintenanceWindow, validateMaintenanceWindows, zonedInstant } from './maintenance-windows';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | null) => d?.toISOString() ?? null;

describe(zonedInstant.name, () => {
  it('maps a plain local time with the offset of that day (winter and summer)', () => {
    expect(new Date(zonedInstant('Europe/Berlin', 2026, 1, 15, 2, 30)).toISOString()).toBe('2026-01-15T01:30:00.000Z');
    expect(new Date(zonedInstant('Europe/Berlin', 2026, 7, 15, 2, 30)).toISOString()).toBe('2026-07-15T00:30:00.000Z');
  });

  it('moves a time the clocks skip forward by the gap (spring forward: 02:30 does not exist on 2026-03-29 in Berlin)', () => {
    expect(new Date(zonedInstant('Europe/Berlin', 2026, 3, 29, 2, 30)).toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });

  it('takes the first of a time that happens twice (fall back: 02:30 on 2026-10-25 in Berlin, still summer time)', () => {
    expect(new Date(zonedInstant('Europe/Berlin', 2026, 10, 25, 2, 30)).toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });
});

describe(maintenanceWindowAt.name, () => {
  const sundayNight: MaintenanceWindow = { days: ['SUNDAY'], start: '02:30', durationMinutes: 60, timeZone: 'Europe/Berlin' };
  const fridayLate: MaintenanceWindow = { days: ['FRIDAY'], start: '23:00', durationMinutes: 180, timeZone: 'America/New_York' };

  it('is always open without windows', () => {
    expect(maintenanceWindowAt([], at('2026-12-02T12:00:00Z'))).toEqual({ open: true, until: null, nextStart: null });
  });

  it('is open from the start for the duration and closed before and after, with the next opening', () => {
    // Sunday 2026-12-06, 02:30 CET = 01:30Z.
    const before = maintenanceWindowAt([sundayNight], at('2026-12-06T01:29:59Z'));
    expect([before.open, iso(before.until)]).toEqual([false, '2026-12-06T01:30:00.000Z']);
    const inside = maintenanceWindowAt([sundayNight], at('2026-12-06T01:30:00Z'));
    expect([inside.open, iso(inside.until), iso(inside.nextStart)]).toEqual([true, '2026-12-06T02:30:00.000Z', '2026-12-13T01:30:00.000Z']);
    const after = maintenanceWindowAt([sundayNight], at('2026-12-06T02:30:00Z'));
    expect([after.open, iso(after.nextStart)]).toEqual([false, '2026-12-13T01:30:00.000Z']);
  });

  it('keeps the elapsed duration across spring forward: the window opens at 03:30 CEST (the first time after the gap) for 60 minutes', () => {
    expect(maintenanceWindowAt([sundayNight], at('2026-03-29T01:00:00Z'))).toMatchObject({ open: false, nextStart: at('2026-03-29T01:30:00Z') });
    expect(maintenanceWindowAt([sundayNight], at('2026-03-29T02:29:00Z'))).toMatchObject({ open: true, until: at('2026-03-29T02:30:00Z') });
    // The Sunday before (winter time) the same window is 02:30–03:30 CET, also 01:30–02:30Z.
    expect(maintenanceWindowAt([sundayNight], at('2026-03-22T01:45:00Z')).open).toBe(true);
  });

  it('opens once at the first 02:30 when the clocks fall back, and not again at the second', () => {
    expect(maintenanceWindowAt([sundayNight], at('2026-10-25T00:30:00Z'))).toMatchObject({ open: true, until: at('2026-10-25T01:30:00Z') });
    // 02:30 CET (the second 02:30) is 01:30Z: the window that began at the first one has just closed.
    expect(maintenanceWindowAt([sundayNight], at('2026-10-25T01:45:00Z'))).toMatchObject({ open: false, nextStart: at('2026-11-01T01:30:00Z') });
  });

  it('crosses midnight: a Friday 23:00 window of three hours is open early on Saturday, on the day it opened', () => {
    // Friday 2026-12-04 23:00 EST = 2026-12-05T04:00Z, until 07:00Z.
    expect(maintenanceWindowAt([fridayLate], at('2026-12-05T06:30:00Z'))).toMatchObject({ open: true, until: at('2026-12-05T07:00:00Z') });
    expect(maintenanceWindowAt([fridayLate], at('2026-12-05T07:00:00Z'))).toMatchObject({ open: false, nextStart: at('2026-12-12T04:00:00Z') });
    // Saturday 23:00 is not a window: only the day it opens counts.
    expect(maintenanceWindowAt([fridayLate], at('2026-12-06T04:30:00Z')).open).toBe(false);
  });

  it('combines several windows in different zones: open when any is, next opening the earliest', () => {
    const windows = [sundayNight, fridayLate];
    expect(maintenanceWindowAt(windows, at('2026-12-05T05:00:00Z')).open).toBe(true);
    expect(maintenanceWindowAt(windows, at('2026-12-05T12:00:00Z'))).toMatchObject({ open: false, nextStart: at('2026-12-06T01:30:00Z') });
  });
});

describe(validateMaintenanceWindows.name, () => {
  const ok: MaintenanceWindow = { days: ['SUNDAY', 'MONDAY', 'SUNDAY'], start: '02:30', durationMinutes: 60, timeZone: 'Europe/Berlin' };
  const reason = (windows: MaintenanceWindow[]) => {
    try {
      validateMaintenanceWindows(windows);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(FarpointError);
      expect((error as FarpointError).code).toBe('BAD_USER_INPUT');
      return [(error as FarpointError).details.reason, (error as FarpointError).details.path];
    }
  };

  it('keeps valid windows, days once each in week order', () => {
    expect(validateMaintenanceWindows([ok])).toEqual([{ ...ok, days: ['MONDAY', 'SUNDAY'] }]);
  });

  it.each([
    [{ days: [] }, 'MAINTENANCE_WINDOW_DAYS_INVALID', 'days'],
    [{ days: ['FUNDAY'] }, 'MAINTENANCE_WINDOW_DAYS_INVALID', 'days'],
    [{ start: '24:00' }, 'MAINTENANCE_WINDOW_START_INVALID', 'start'],
    [{ start: '2:30' }, 'MAINTENANCE_WINDOW_START_INVALID', 'start'],
    [{ durationMinutes: 0 }, 'MAINTENANCE_WINDOW_DURATION_INVALID', 'durationMinutes'],
    [{ durationMinutes: 1441 }, 'MAINTENANCE_WINDOW_DURATION_INVALID', 'durationMinutes'],
    [{ durationMinutes: 1.5 }, 'MAINTENANCE_WINDOW_DURATION_INVALID', 'durationMinutes'],
    [{ timeZone: 'Mars/Olympus_Mons' }, 'MAINTENANCE_WINDOW_TIME_ZONE_INVALID', 'timeZone'],
    [{ timeZone: '' }, 'MAINTENANCE_WINDOW_TIME_ZONE_INVALID', 'timeZone'],
  ])('refuses %j with %s', (change, code, field) => {
    expect(reason([ok, { ...ok, ...change } as MaintenanceWindow])).toEqual([code, `maintenanceWindows[1].${field}`]);
  });

  it('refuses more than 16 windows', () => {
    expect(reason(Array.from({ length: 17 }, () => ok))).toEqual(['MAINTENANCE_WINDOWS_TOO_MANY', 'maintenanceWindows']);
  });
});
