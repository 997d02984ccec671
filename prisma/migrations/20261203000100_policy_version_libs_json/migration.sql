-- PolicyTemplateVersion.libs becomes a JSON array that is never null: a Prisma scalar list is a
-- nullable text[] in Postgres, which the schema does not mean. Existing libs are kept (Prisma's diff
-- would drop and re-add the column).
ALTER TABLE "PolicyTemplateVersion" ALTER COLUMN "libs" TYPE JSONB USING to_jsonb(coalesce("libs", ARRAY[]::text[])),
ALTER COLUMN "libs" SET DEFAULT '[]',
ALTER COLUMN "libs" SET NOT NULL;
