import { SetMetadata } from '@nestjs/common';
import { registerEnumType } from '@nestjs/graphql';
import { Role } from '../../generated/prisma/enums';

registerEnumType(Role, { name: 'Role', description: 'ADMIN manages tokens and everything else; EDITOR changes inventory; VIEWER reads.' });

const RANK: Record<Role, number> = { VIEWER: 1, EDITOR: 2, ADMIN: 3 };
export const roleAtLeast = (role: Role, needed: Role): boolean => RANK[role] >= RANK[needed];

export const REQUIRED_ROLE = Symbol('farpoint:required-role');

/**
 * The least role an operation needs. Every resolver operation must carry one: the guard refuses
 * operations without it, so forgetting it fails closed.
 */
export const RequireRole = (role: Role) => SetMetadata(REQUIRED_ROLE, role);
export { Role };
