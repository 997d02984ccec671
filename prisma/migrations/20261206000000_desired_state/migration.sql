-- CreateEnum
CREATE TYPE "AdmissionFailurePolicy" AS ENUM ('IGNORE', 'FAIL');

-- AlterTable
ALTER TABLE "ClusterGroup" ADD COLUMN     "admissionFailurePolicy" "AdmissionFailurePolicy" NOT NULL DEFAULT 'IGNORE',
ADD COLUMN     "admissionTimeoutSeconds" INTEGER NOT NULL DEFAULT 3;

-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "appliedDesiredStateGeneration" INTEGER,
ADD COLUMN     "desiredStateError" JSONB;
