import { getDistDirectory, renderAltair } from 'altair-static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

const EXPLORER_PATH = '/graphql/explorer';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
};

/**
 * A GraphQL explorer (Altair) served from the API itself, assets included: edge operators and these
 * build machines often have no internet, so nothing may come from a CDN. For development only (see
 * GRAPHQL_EXPLORER): the page is public, and the token is typed into it, never embedded.
 */
export function registerGraphqlExplorer(fastify: FastifyInstance, graphqlPath = '/graphql'): void {
  const dist = resolve(getDistDirectory());
  const page = (request: FastifyRequest) =>
    renderAltair({
      baseURL: `${EXPLORER_PATH}/`,
      endpointURL: graphqlPath,
      // WebSocket URLs must be absolute: the same host and scheme the page was loaded from.
      subscriptionsEndpoint: `${request.protocol === 'https' ? 'wss' : 'ws'}://${request.host}${graphqlPath}`,
      initialSubscriptionRequestHandlerId: 'graphql-ws',
      initialHeaders: { authorization: 'Bearer fpt_…' },
      initialQuery: '{ viewer { role organization { name } } }',
    });
  for (const path of [EXPLORER_PATH, `${EXPLORER_PATH}/`]) {
    fastify.get(path, async (request, reply) => reply.type(CONTENT_TYPES['.html']).header('cache-control', 'no-store').send(page(request)));
  }
  fastify.get<{ Params: { '*': string } }>(`${EXPLORER_PATH}/*`, async (request, reply) => {
    const file = resolve(dist, request.params['*']);
    // Only files inside the package's dist folder: `..` or an absolute path never leaves it.
    if (!file.startsWith(dist + sep)) {
      return reply.code(404).send({ error: 'not found' });
    }
    try {
      const body = await readFile(file);
      return reply
        .type(CONTENT_TYPES[extname(file)] ?? 'application/octet-stream')
        .header('cache-control', 'public, max-age=3600')
        .send(body);
    } catch {
      return reply.code(404).send({ error: 'not found' });
    }
  });
}
