-- AlterTable
ALTER TABLE "Organization" ADD COLUMN     "apiTokenMaxLifetimeDays" INTEGER;
