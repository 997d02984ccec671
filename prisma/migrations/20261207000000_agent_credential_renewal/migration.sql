-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "agentRenewalPublicKey" TEXT;

-- AlterTable
ALTER TABLE "AgentCredential" ADD COLUMN     "renewalNonce" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "AgentCredential_renewalNonce_key" ON "AgentCredential"("renewalNonce");
