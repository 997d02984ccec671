// Prisma CLI configuration (Prisma 7 keeps the datasource URL here, not in schema.prisma).
// Only `prisma generate` is used: migrations are reviewed SQL applied by src/infra/database/migrator.ts.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/farpoint' },
});
