# Farpoint API and worker image (one image, two entry points). The agent has its own: Dockerfile.agent.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/prisma-generate.sh ./scripts/
COPY src ./src
RUN bash scripts/prisma-generate.sh && npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
# The built-in policy recipes the worker syncs at start-up; the worker also needs an opa binary (OPA_PATH).
COPY policies ./policies
USER node
EXPOSE 4000
# Migrations are applied by the migrate command (advisory-locked, safe when replicas start together).
CMD ["sh", "-c", "node dist/src/infra/database/migrate.cli.js && exec node dist/src/main.js"]
