-- Policy assignments (a constraint assigned to a scope) and each cluster's desired-state generation.
-- Reviewed: additive only. Existing clusters start at generation 0.
-- CreateEnum
CREATE TYPE "PolicyScope" AS ENUM ('ORGANIZATION', 'SITE', 'CLUSTER_GROUP', 'CLUSTER', 'WORKSPACE');

-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "desiredStateGeneration" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "PolicyAssignment" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "constraintId" UUID NOT NULL,
    "scope" "PolicyScope" NOT NULL,
    "siteId" UUID,
    "groupId" UUID,
    "clusterId" UUID,
    "workspaceId" UUID,
    "labelSelector" TEXT NOT NULL DEFAULT '',
    "namespaceSelector" TEXT NOT NULL DEFAULT '',
    "excludedNamespaces" TEXT[] DEFAULT ARRAY['farpoint-system', 'kube-system']::TEXT[],
    "enforcementAction" "EnforcementAction",
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "PolicyAssignment_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PolicyAssignment_organizationId_scope_idx" ON "PolicyAssignment"("organizationId", "scope");

-- CreateIndex
CREATE INDEX "PolicyAssignment_constraintId_idx" ON "PolicyAssignment"("constraintId");

-- CreateIndex
CREATE INDEX "PolicyAssignment_siteId_idx" ON "PolicyAssignment"("siteId");

-- CreateIndex
CREATE INDEX "PolicyAssignment_groupId_idx" ON "PolicyAssignment"("groupId");

-- CreateIndex
CREATE INDEX "PolicyAssignment_clusterId_idx" ON "PolicyAssignment"("clusterId");

-- CreateIndex
CREATE INDEX "PolicyAssignment_workspaceId_idx" ON "PolicyAssignment"("workspaceId");

-- AddForeignKey
ALTER TABLE "PolicyAssignment" ADD CONSTRAINT "PolicyAssignment_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyAssignment" ADD CONSTRAINT "PolicyAssignment_constraintId_fkey" FOREIGN KEY ("constraintId") REFERENCES "Constraint"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyAssignment" ADD CONSTRAINT "PolicyAssignment_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyAssignment" ADD CONSTRAINT "PolicyAssignment_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "ClusterGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyAssignment" ADD CONSTRAINT "PolicyAssignment_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyAssignment" ADD CONSTRAINT "PolicyAssignment_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;
