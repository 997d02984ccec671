-- The attach outbox: an open operation keeps its sealed job payload, so a job Redis lost is queued again.
-- Additive. Operations open before this migration have none and are not re-queued.
-- AlterTable
ALTER TABLE "ClusterOperation" ADD COLUMN     "sealedPayload" TEXT;

-- CreateIndex
CREATE INDEX "ClusterOperation_state_idx" ON "ClusterOperation"("state");
