import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findProjectRoot, MigrationError, migrationChecksum, readLocalMigrations, scriptMatchesChecksum } from './migrator';

describe('migrator (pure parts; the database side is in test/integration/database)', () => {
  const script = 'CREATE TABLE "A" ("id" INTEGER);\nCREATE TABLE "B" ("id" INTEGER);\n';

  it('checksums like Prisma: lowercase hex sha256 of the file', () => {
    expect(migrationChecksum(script)).toBe(createHash('sha256').update(script).digest('hex'));
    expect(migrationChecksum(script)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('matches across line-ending changes and legacy unpadded checksums, but not real edits', () => {
    const sum = migrationChecksum(script);
    expect(scriptMatchesChecksum(script, sum)).toBe(true);
    expect(scriptMatchesChecksum(script.replace(/\n/g, '\r\n'), sum)).toBe(true);
    const legacy = Array.from(createHash('sha256').update(script).digest(), (b) => b.toString(16)).join('');
    expect(scriptMatchesChecksum(script, legacy)).toBe(true);
    expect(scriptMatchesChecksum(`${script}-- edited\n`, sum)).toBe(false);
    expect(scriptMatchesChecksum(script.replace('"B"', '"C"'), sum)).toBe(false);
  });

  it('finds the project root from src and from a dist/src build location', () => {
    const root = resolve(__dirname, '..', '..', '..');
    expect(findProjectRoot(__dirname)).toBe(root);
    expect(findProjectRoot(join(root, 'dist', 'src', 'infra', 'database'))).toBe(root);
    expect(() => findProjectRoot(tmpdir())).toThrow(MigrationError);
  });

  it('reads migration folders in name order and rejects a folder without migration.sql', () => {
    const dir = mkdtempSync(join(tmpdir(), 'farpoint-migrator-spec-'));
    try {
      for (const name of ['20260102000000_b', '20260101000000_a']) {
        mkdirSync(join(dir, name));
        writeFileSync(join(dir, name, 'migration.sql'), `-- ${name}\n`);
      }
      writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
      expect(readLocalMigrations(dir).map((m) => m.name)).toEqual(['20260101000000_a', '20260102000000_b']);
      mkdirSync(join(dir, '20260103000000_empty'));
      expect(() => readLocalMigrations(dir)).toThrow(expect.objectContaining({ code: 'MIGRATION_FILE_MISSING' }));
      rmSync(join(dir, '20260103000000_empty'), { recursive: true });
      writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "mysql"\n');
      expect(() => readLocalMigrations(dir)).toThrow(expect.objectContaining({ code: 'MIGRATION_PROVIDER_MISMATCH' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
