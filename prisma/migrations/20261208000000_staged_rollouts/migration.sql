-- CreateEnum
CREATE TYPE "StagedRolloutState" AS ENUM ('RUNNING', 'PAUSED', 'HALTED', 'ABORTED', 'COMPLETED');

-- AlterTable
ALTER TABLE "PolicyAssignment" ADD COLUMN     "activeRolloutId" UUID;

-- CreateTable
CREATE TABLE "StagedRollout" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "assignmentId" UUID,
    "previous" JSONB,
    "target" JSONB NOT NULL,
    "waves" JSONB NOT NULL,
    "releasedWaves" INTEGER NOT NULL DEFAULT 1,
    "state" "StagedRolloutState" NOT NULL DEFAULT 'RUNNING',
    "reason" TEXT,
    "maxFailedClusters" INTEGER NOT NULL DEFAULT 0,
    "maxAdmissionRefusals" INTEGER,
    "soakSeconds" INTEGER NOT NULL DEFAULT 0,
    "urgent" BOOLEAN NOT NULL DEFAULT false,
    "waveReleasedAt" TIMESTAMPTZ(3) NOT NULL,
    "waveSyncedAt" TIMESTAMPTZ(3),
    "countsSince" TIMESTAMPTZ(3) NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "StagedRollout_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StagedRolloutCluster" (
    "rolloutId" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "wave" INTEGER NOT NULL,

    CONSTRAINT "StagedRolloutCluster_pkey" PRIMARY KEY ("rolloutId","clusterId")
);

-- CreateIndex
CREATE INDEX "StagedRollout_organizationId_state_idx" ON "StagedRollout"("organizationId", "state");

-- CreateIndex
CREATE INDEX "StagedRollout_assignmentId_idx" ON "StagedRollout"("assignmentId");

-- CreateIndex
CREATE INDEX "StagedRollout_state_updatedAt_idx" ON "StagedRollout"("state", "updatedAt");

-- CreateIndex
CREATE INDEX "StagedRolloutCluster_clusterId_idx" ON "StagedRolloutCluster"("clusterId");

-- CreateIndex
CREATE INDEX "StagedRolloutCluster_rolloutId_wave_idx" ON "StagedRolloutCluster"("rolloutId", "wave");

-- CreateIndex
CREATE UNIQUE INDEX "PolicyAssignment_activeRolloutId_key" ON "PolicyAssignment"("activeRolloutId");

-- AddForeignKey
ALTER TABLE "PolicyAssignment" ADD CONSTRAINT "PolicyAssignment_activeRolloutId_fkey" FOREIGN KEY ("activeRolloutId") REFERENCES "StagedRollout"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StagedRollout" ADD CONSTRAINT "StagedRollout_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StagedRollout" ADD CONSTRAINT "StagedRollout_assignmentId_fkey" FOREIGN KEY ("assignmentId") REFERENCES "PolicyAssignment"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StagedRolloutCluster" ADD CONSTRAINT "StagedRolloutCluster_rolloutId_fkey" FOREIGN KEY ("rolloutId") REFERENCES "StagedRollout"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StagedRolloutCluster" ADD CONSTRAINT "StagedRolloutCluster_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;
