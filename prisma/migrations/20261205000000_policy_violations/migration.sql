-- CreateEnum
CREATE TYPE "ViolationState" AS ENUM ('OPEN', 'RESOLVED');

-- CreateTable
CREATE TABLE "PolicyViolation" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "assignmentId" UUID NOT NULL,
    "constraintId" UUID NOT NULL,
    "objectKey" TEXT NOT NULL,
    "objectUid" TEXT,
    "kind" TEXT NOT NULL,
    "apiGroup" TEXT NOT NULL,
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "action" "EnforcementAction" NOT NULL,
    "state" "ViolationState" NOT NULL DEFAULT 'OPEN',
    "firstSeenAt" TIMESTAMPTZ(3) NOT NULL,
    "lastSeenAt" TIMESTAMPTZ(3) NOT NULL,
    "resolvedAt" TIMESTAMPTZ(3),

    CONSTRAINT "PolicyViolation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicyViolationSummary" (
    "clusterId" UUID NOT NULL,
    "assignmentId" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "generation" INTEGER NOT NULL,
    "complete" BOOLEAN NOT NULL,
    "totalViolations" INTEGER NOT NULL,
    "openRows" INTEGER NOT NULL,
    "auditedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "PolicyViolationSummary_pkey" PRIMARY KEY ("clusterId","assignmentId")
);

-- CreateIndex
CREATE INDEX "PolicyViolation_organizationId_state_firstSeenAt_idx" ON "PolicyViolation"("organizationId", "state", "firstSeenAt");

-- CreateIndex
CREATE INDEX "PolicyViolation_clusterId_state_idx" ON "PolicyViolation"("clusterId", "state");

-- CreateIndex
CREATE INDEX "PolicyViolation_assignmentId_state_idx" ON "PolicyViolation"("assignmentId", "state");

-- CreateIndex
CREATE INDEX "PolicyViolation_organizationId_objectUid_idx" ON "PolicyViolation"("organizationId", "objectUid");

-- CreateIndex
CREATE INDEX "PolicyViolation_state_resolvedAt_idx" ON "PolicyViolation"("state", "resolvedAt");

-- CreateIndex
CREATE UNIQUE INDEX "PolicyViolation_clusterId_assignmentId_objectKey_key" ON "PolicyViolation"("clusterId", "assignmentId", "objectKey");

-- CreateIndex
CREATE INDEX "PolicyViolationSummary_organizationId_idx" ON "PolicyViolationSummary"("organizationId");

-- AddForeignKey
ALTER TABLE "PolicyViolation" ADD CONSTRAINT "PolicyViolation_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyViolation" ADD CONSTRAINT "PolicyViolation_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyViolation" ADD CONSTRAINT "PolicyViolation_assignmentId_fkey" FOREIGN KEY ("assignmentId") REFERENCES "PolicyAssignment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyViolationSummary" ADD CONSTRAINT "PolicyViolationSummary_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyViolationSummary" ADD CONSTRAINT "PolicyViolationSummary_assignmentId_fkey" FOREIGN KEY ("assignmentId") REFERENCES "PolicyAssignment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
