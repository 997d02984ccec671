-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "agentDroppedByKind" JSONB,
ADD COLUMN     "agentOldestQueuedAt" TIMESTAMPTZ(3),
ADD COLUMN     "agentQueueDepth" INTEGER,
ADD COLUMN     "agentStateVolume" JSONB;
