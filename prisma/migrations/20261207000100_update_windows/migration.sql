-- AlterTable
ALTER TABLE "Site" ADD COLUMN     "maintenanceWindows" JSONB NOT NULL DEFAULT '[]';

-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "urgentDesiredStateGeneration" INTEGER;
