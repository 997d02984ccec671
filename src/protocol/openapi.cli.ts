/**
 * Writes docs/agent-protocol.openapi.json from the zod schemas (`npm run agent:openapi`).
 * With --check it writes nothing and exits 1 when the committed file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_OPENAPI_DOCUMENT_PATH, serializeAgentOpenApiDocument } from './openapi';

function main(argv: string[]): number {
  const root = process.env.FARPOINT_REPO_ROOT ?? process.cwd();
  const target = join(root, AGENT_OPENAPI_DOCUMENT_PATH);
  const text = serializeAgentOpenApiDocument();
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // A missing file is simply out of date.
    }
    if (current === text) {
      return 0;
    }
    process.stderr.write(`${AGENT_OPENAPI_DOCUMENT_PATH} is out of date; run npm run agent:openapi\n`);
    return 1;
  }
  writeFileSync(target, text);
  process.stdout.write(`wrote ${AGENT_OPENAPI_DOCUMENT_PATH}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
