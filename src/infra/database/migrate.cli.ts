// `npm run migrate` (node dist/src/infra/database/migrate.cli.js): applies prisma/migrations to
// DATABASE_URL with the offline migrator. MIGRATIONS_DIR overrides the migrations folder.
// Exit codes: 0 applied or up to date, 1 migration refused or failed (stderr names the code), 2 usage.
import { applyMigrations, MigrationError } from './migrator';

async function main(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('migrate: DATABASE_URL is not set\n');
    return 2;
  }
  try {
    const { applied } = await applyMigrations(url, {
      migrationsDir: process.env.MIGRATIONS_DIR || undefined,
      log: (msg) => process.stdout.write(`[migrate] ${msg}\n`),
    });
    process.stdout.write(`[migrate] ${applied.length} migration(s) applied${applied.length ? `: ${applied.join(', ')}` : ''}\n`);
    return 0;
  } catch (err) {
    if (err instanceof MigrationError) {
      process.stderr.write(`[migrate] ${err.message}\n`);
    } else {
      process.stderr.write(`[migrate] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
