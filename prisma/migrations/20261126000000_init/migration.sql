-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'EDITOR', 'VIEWER');

-- CreateEnum
CREATE TYPE "SiteTier" AS ENUM ('FAR_EDGE', 'NEAR_EDGE', 'CORE');

-- CreateEnum
CREATE TYPE "ConnectivityMode" AS ENUM ('ALWAYS_ON', 'INTERMITTENT', 'SCHEDULED');

-- CreateEnum
CREATE TYPE "ClusterDistribution" AS ENUM ('TKG', 'K3S', 'OTHER');

-- CreateEnum
CREATE TYPE "ClusterPhase" AS ENUM ('PENDING', 'ATTACHING', 'ATTACHED', 'READY', 'DETACHING', 'DETACHED', 'ERROR');

-- CreateEnum
CREATE TYPE "ClusterHealth" AS ENUM ('HEALTHY', 'WARNING', 'UNHEALTHY', 'DISCONNECTED', 'UNKNOWN');

-- CreateTable
CREATE TABLE "Organization" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "prefix" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3),
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Site" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "tier" "SiteTier" NOT NULL,
    "region" TEXT NOT NULL,
    "address" TEXT,
    "latitude" DOUBLE PRECISION,
    "longitude" DOUBLE PRECISION,
    "hardwareModel" TEXT,
    "connectivity" "ConnectivityMode" NOT NULL DEFAULT 'ALWAYS_ON',
    "heartbeatIntervalSeconds" INTEGER NOT NULL DEFAULT 20,
    "disconnectGraceSeconds" INTEGER NOT NULL DEFAULT 60,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Site_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ClusterGroup" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ClusterGroup_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Cluster" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "siteId" UUID,
    "groupId" UUID NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "distribution" "ClusterDistribution" NOT NULL DEFAULT 'OTHER',
    "kubernetesVersion" TEXT,
    "phase" "ClusterPhase" NOT NULL DEFAULT 'PENDING',
    "phaseReason" TEXT,
    "health" "ClusterHealth" NOT NULL DEFAULT 'UNKNOWN',
    "nodeCount" INTEGER NOT NULL DEFAULT 0,
    "allocatableCpuMillis" INTEGER NOT NULL DEFAULT 0,
    "allocatableMemoryMiB" INTEGER NOT NULL DEFAULT 0,
    "requestedCpuMillis" INTEGER NOT NULL DEFAULT 0,
    "requestedMemoryMiB" INTEGER NOT NULL DEFAULT 0,
    "lastHeartbeatAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Cluster_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Workspace" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Workspace_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Namespace" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "workspaceId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Namespace_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Event" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "objectKind" TEXT NOT NULL,
    "objectId" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "severity" TEXT NOT NULL DEFAULT 'INFO',
    "message" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "occurredAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Organization_name_key" ON "Organization"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_secretHash_key" ON "ApiToken"("secretHash");

-- CreateIndex
CREATE INDEX "ApiToken_organizationId_idx" ON "ApiToken"("organizationId");

-- CreateIndex
CREATE INDEX "Site_labels_idx" ON "Site" USING GIN ("labels");

-- CreateIndex
CREATE UNIQUE INDEX "Site_organizationId_name_key" ON "Site"("organizationId", "name");

-- CreateIndex
CREATE INDEX "ClusterGroup_labels_idx" ON "ClusterGroup" USING GIN ("labels");

-- CreateIndex
CREATE UNIQUE INDEX "ClusterGroup_organizationId_name_key" ON "ClusterGroup"("organizationId", "name");

-- CreateIndex
CREATE INDEX "Cluster_organizationId_siteId_idx" ON "Cluster"("organizationId", "siteId");

-- CreateIndex
CREATE INDEX "Cluster_organizationId_groupId_idx" ON "Cluster"("organizationId", "groupId");

-- CreateIndex
CREATE INDEX "Cluster_organizationId_phase_idx" ON "Cluster"("organizationId", "phase");

-- CreateIndex
CREATE INDEX "Cluster_organizationId_health_idx" ON "Cluster"("organizationId", "health");

-- CreateIndex
CREATE INDEX "Cluster_labels_idx" ON "Cluster" USING GIN ("labels");

-- CreateIndex
CREATE UNIQUE INDEX "Cluster_organizationId_name_key" ON "Cluster"("organizationId", "name");

-- CreateIndex
CREATE INDEX "Workspace_labels_idx" ON "Workspace" USING GIN ("labels");

-- CreateIndex
CREATE UNIQUE INDEX "Workspace_organizationId_name_key" ON "Workspace"("organizationId", "name");

-- CreateIndex
CREATE INDEX "Namespace_workspaceId_idx" ON "Namespace"("workspaceId");

-- CreateIndex
CREATE INDEX "Namespace_organizationId_idx" ON "Namespace"("organizationId");

-- CreateIndex
CREATE UNIQUE INDEX "Namespace_clusterId_name_key" ON "Namespace"("clusterId", "name");

-- CreateIndex
CREATE INDEX "Event_organizationId_objectKind_objectId_occurredAt_idx" ON "Event"("organizationId", "objectKind", "objectId", "occurredAt");

-- CreateIndex
CREATE INDEX "Event_organizationId_occurredAt_idx" ON "Event"("organizationId", "occurredAt");

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Site" ADD CONSTRAINT "Site_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ClusterGroup" ADD CONSTRAINT "ClusterGroup_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Cluster" ADD CONSTRAINT "Cluster_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Cluster" ADD CONSTRAINT "Cluster_siteId_fkey" FOREIGN KEY ("siteId") REFERENCES "Site"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Cluster" ADD CONSTRAINT "Cluster_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "ClusterGroup"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Workspace" ADD CONSTRAINT "Workspace_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Namespace" ADD CONSTRAINT "Namespace_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Namespace" ADD CONSTRAINT "Namespace_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Namespace" ADD CONSTRAINT "Namespace_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Event" ADD CONSTRAINT "Event_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
