import { Injectable } from '@nestjs/common';
import { AgentCredential } from '../../generated/prisma/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { Tx } from '../../infra/database/transaction';

/** AgentCredential rows: only hashes are stored; every revocation is idempotent. */
@Injectable()
export class AgentCredentialRepository {
  constructor(private readonly prisma: PrismaService) {}

  findByHash(secretHash: string): Promise<AgentCredential | null> {
    return this.prisma.agentCredential.findUnique({ where: { secretHash } });
  }

  findByRenewalNonce(tx: Tx, renewalNonce: string): Promise<AgentCredential | null> {
    return tx.agentCredential.findUnique({ where: { renewalNonce } });
  }

  create(
    tx: Tx,
    data: { organizationId: string; clusterId: string; secretHash: string; previousId: string | null; expiresAt: Date; renewalNonce?: string },
  ): Promise<AgentCredential> {
    return tx.agentCredential.create({ data });
  }

  /** Records the first use; false when it was used before (or a concurrent request recorded it first). */
  async markFirstUsed(tx: Tx, id: string, at: Date): Promise<boolean> {
    const { count } = await tx.agentCredential.updateMany({ where: { id, firstUsedAt: null }, data: { firstUsedAt: at } });
    return count === 1;
  }

  async revoke(tx: Tx, id: string, at: Date): Promise<boolean> {
    const { count } = await tx.agentCredential.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } });
    return count === 1;
  }

  /** Revokes every credential of a cluster; returns how many. */
  async revokeAllOfCluster(tx: Tx, clusterId: string, at: Date): Promise<number> {
    const { count } = await tx.agentCredential.updateMany({ where: { clusterId, revokedAt: null }, data: { revokedAt: at } });
    return count;
  }

  /** Revokes never-used successors of a credential: rotations whose answer the agent never stored. */
  async revokeUnusedSuccessors(tx: Tx, previousId: string, at: Date): Promise<number> {
    const { count } = await tx.agentCredential.updateMany({ where: { previousId, firstUsedAt: null, revokedAt: null }, data: { revokedAt: at } });
    return count;
  }

  /** Whether any credential of the cluster has ever been used (then its registration is complete). */
  async anyUsed(tx: Tx, clusterId: string): Promise<boolean> {
    const used = await tx.agentCredential.findFirst({ where: { clusterId, firstUsedAt: { not: null } }, select: { id: true } });
    return used !== null;
  }
}
