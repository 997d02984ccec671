import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_ERROR_CODES } from './errors';
import { AGENT_OPENAPI_DOCUMENT_PATH, buildAgentOpenApiDocument, serializeAgentOpenApiDocument } from './openapi';
import { AgentPaths } from './paths';

const repoRoot = join(__dirname, '..', '..');

function collectRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    value.forEach((v) => collectRefs(v, out));
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') {
        out.push(v);
      } else {
        collectRefs(v, out);
      }
    }
  }
  return out;
}

describe(buildAgentOpenApiDocument.name, () => {
  const document = buildAgentOpenApiDocument() as {
    openapi: string;
    paths: Record<string, unknown>;
    components: { schemas: Record<string, Record<string, unknown>> };
  };

  it('committed docs/agent-protocol.openapi.json equals the document built from the schemas (run npm run agent:openapi)', () => {
    const committed = readFileSync(join(repoRoot, AGENT_OPENAPI_DOCUMENT_PATH), 'utf8');
    expect(committed).toBe(serializeAgentOpenApiDocument());
  });

  it('is OpenAPI 3.1 with the eight v1 endpoints', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        AgentPaths.manifestsTemplate,
        AgentPaths.register,
        AgentPaths.rotateCredential,
        AgentPaths.renewCredential,
        AgentPaths.reports,
        AgentPaths.detachAck,
        AgentPaths.desiredState,
        AgentPaths.bundleTemplate,
      ].sort(),
    );
  });

  it('resolves every $ref to a component', () => {
    const refs = collectRefs(document);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      const name = ref.replace('#/components/schemas/', '');
      expect(document.components.schemas[name]).toBeDefined();
    }
  });

  it('documents every error code and the schema limits', () => {
    const text = serializeAgentOpenApiDocument();
    for (const code of AGENT_ERROR_CODES) {
      expect(text).toContain(code);
    }
    expect(document.components.schemas.Labels).toMatchObject({ maxProperties: 64 });
    expect(document.components.schemas.ReportsRequest).toMatchObject({
      properties: { items: { maxItems: 500, minItems: 1 } },
    });
  });

  it('serialises with sorted keys and a trailing newline, identically on every call', () => {
    const text = serializeAgentOpenApiDocument();
    expect(text.endsWith('}\n')).toBe(true);
    expect(serializeAgentOpenApiDocument()).toBe(text);
    expect(Object.keys(JSON.parse(text))).toEqual(['components', 'info', 'openapi', 'paths']);
  });
});
