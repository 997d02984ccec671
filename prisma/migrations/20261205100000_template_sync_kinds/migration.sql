-- What a referential template reads from data.inventory. Additive: existing versions read nothing.
-- AlterTable
ALTER TABLE "PolicyTemplateVersion" ADD COLUMN     "syncKinds" JSONB NOT NULL DEFAULT '[]';
