-- Policies (issue 9): templates with immutable versions, content-addressed WebAssembly bundles, constraints.
-- Built-in recipes are PolicyTemplate rows without an organization, written by the worker's recipe sync.

-- CreateEnum
CREATE TYPE "PolicyCompileStatus" AS ENUM ('QUEUED', 'COMPILING', 'COMPILED', 'FAILED');

-- CreateEnum
CREATE TYPE "PolicyLifecycle" AS ENUM ('DRAFT', 'PUBLISHED', 'DEPRECATED');

-- CreateEnum
CREATE TYPE "RegoVersion" AS ENUM ('V0', 'V1');

-- CreateEnum
CREATE TYPE "PolicySeverity" AS ENUM ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');

-- CreateEnum
CREATE TYPE "EnforcementAction" AS ENUM ('DENY', 'WARN', 'DRYRUN');

-- CreateTable
CREATE TABLE "PolicyTemplate" (
    "id" UUID NOT NULL,
    "organizationId" UUID,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "PolicyTemplate_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicyTemplateVersion" (
    "id" UUID NOT NULL,
    "templateId" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT,
    "category" TEXT,
    "severity" "PolicySeverity" NOT NULL DEFAULT 'MEDIUM',
    "rego" TEXT NOT NULL,
    "libs" TEXT[],
    "parametersSchema" JSONB,
    "tests" JSONB NOT NULL DEFAULT '[]',
    "regoVersion" "RegoVersion" NOT NULL DEFAULT 'V0',
    "sourceHash" TEXT NOT NULL,
    "compileStatus" "PolicyCompileStatus" NOT NULL DEFAULT 'QUEUED',
    "compileAttempts" INTEGER NOT NULL DEFAULT 0,
    "diagnostics" JSONB NOT NULL DEFAULT '[]',
    "testResults" JSONB NOT NULL DEFAULT '[]',
    "entrypoint" TEXT,
    "bundleSha256" TEXT,
    "bundleSize" INTEGER,
    "compiledAt" TIMESTAMPTZ(3),
    "lifecycle" "PolicyLifecycle" NOT NULL DEFAULT 'DRAFT',
    "publishedAt" TIMESTAMPTZ(3),
    "deprecatedAt" TIMESTAMPTZ(3),
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PolicyTemplateVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PolicyBundle" (
    "sha256" TEXT NOT NULL,
    "wasm" BYTEA NOT NULL,
    "size" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PolicyBundle_pkey" PRIMARY KEY ("sha256")
);

-- CreateTable
CREATE TABLE "Constraint" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "templateVersionId" UUID NOT NULL,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "match" JSONB NOT NULL DEFAULT '{}',
    "enforcementAction" "EnforcementAction" NOT NULL DEFAULT 'DENY',
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Constraint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PolicyTemplate_organizationId_kind_idx" ON "PolicyTemplate"("organizationId", "kind");

-- CreateIndex
CREATE UNIQUE INDEX "PolicyTemplate_organizationId_name_key" ON "PolicyTemplate"("organizationId", "name");

-- CreateIndex
CREATE INDEX "PolicyTemplateVersion_bundleSha256_idx" ON "PolicyTemplateVersion"("bundleSha256");

-- CreateIndex
CREATE UNIQUE INDEX "PolicyTemplateVersion_templateId_version_key" ON "PolicyTemplateVersion"("templateId", "version");

-- CreateIndex
CREATE INDEX "Constraint_templateVersionId_idx" ON "Constraint"("templateVersionId");

-- CreateIndex
CREATE UNIQUE INDEX "Constraint_organizationId_name_key" ON "Constraint"("organizationId", "name");

-- AddForeignKey
ALTER TABLE "PolicyTemplate" ADD CONSTRAINT "PolicyTemplate_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyTemplateVersion" ADD CONSTRAINT "PolicyTemplateVersion_templateId_fkey" FOREIGN KEY ("templateId") REFERENCES "PolicyTemplate"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PolicyTemplateVersion" ADD CONSTRAINT "PolicyTemplateVersion_bundleSha256_fkey" FOREIGN KEY ("bundleSha256") REFERENCES "PolicyBundle"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Constraint" ADD CONSTRAINT "Constraint_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Constraint" ADD CONSTRAINT "Constraint_templateVersionId_fkey" FOREIGN KEY ("templateVersionId") REFERENCES "PolicyTemplateVersion"("id") ON DELETE NO ACTION ON UPDATE CASCADE;
