import { FarpointError } from '../errors/farpoint-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else identifies nothing (NOT_FOUND), rather than failing in SQL. */
export const isUuid = (value: string): boolean => UUID.test(value);

/** Filter arguments must be well-formed ids; say so instead of silently matching nothing. */
export function assertIdFilters(filters: Record<string, string | null | undefined>): void {
  for (const [field, value] of Object.entries(filters)) {
    if (value != null && !isUuid(value)) {
      throw FarpointError.badInput(`${field} "${value}" is not a valid id.`, field);
    }
  }
}
