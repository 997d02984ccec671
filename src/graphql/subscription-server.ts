import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { GraphQLError, GraphQLFormattedError } from 'graphql';
import { CloseCode, Context, handleProtocols, makeServer, Server as GraphqlWsServer } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { ErrorCode, FarpointError } from '../common/errors/farpoint-error';
import { formatGraphqlError } from './graphql-error-formatter';
import { subscriptionLimitErrors } from '../common/graphql/query-limits.plugin';
import { APP_CONFIG, AppConfig } from '../infra/config/app-config';
import { ROOT_LOGGER } from '../infra/logging/logger';
import { PubSubGateway } from '../infra/redis/pubsub.gateway';
import { API_TOKEN_REVOKED_CHANNEL, ApiTokenRevoked, AuthService } from '../modules/auth/auth.service';
import { InventoryLoaderFactory } from './inventory.loaders';
import { createRequestContext } from './request-context.factory';

const PATH = '/graphql';
// Server pings; a client that does not answer the next one is dropped (graphql-ws's default).
const KEEPALIVE_MS = 12_000;
// setTimeout's longest delay; a token expiring later is caught by a later timer or the periodic check.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One authenticated graphql-ws connection, tied to the token it was opened with. */
interface Connection {
  socket: WebSocket;
  authorization: string;
  tokenId: string;
  expiresAt: Date | null;
  expiryTimer?: NodeJS.Timeout;
}

interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
  connection?: Connection;
}

type WsContext = Context<Record<string, unknown>, Extra>;

/** The token a client sent as connection parameter `authorization` (or `Authorization`). */
function authorizationOf(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const value = params?.authorization ?? params?.Authorization;
  return typeof value === 'string' ? value : undefined;
}

/** Close reasons are at most 123 bytes. */
const closeReason = (message: string) => (Buffer.byteLength(message) <= 123 ? message : `${Buffer.from(message).subarray(0, 120).toString()}…`);

/** A WebSocket message as text: ws hands over a Buffer, an ArrayBuffer or fragments. */
function rawDataText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) {
    return Buffer.concat(data).toString('utf8');
  }
  return Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString('utf8');
}

/**
 * GraphQL subscriptions over graphql-ws at /graphql, served here rather than by the GraphQL driver so
 * that a connection follows its token and its size is bounded:
 * - connection_init must carry a valid API token, else the socket closes with 4401;
 * - the connection closes with 4401 when its token is revoked (pub/sub from AuthService.revokeToken,
 *   heard by every replica), when it expires (a timer), or when a periodic re-check finds it invalid;
 * - at most GRAPHQL_WS_MAX_SUBSCRIPTIONS operations per connection, each within the query limits;
 * - messages larger than GRAPHQL_WS_MAX_PAYLOAD_BYTES close the socket (1009) before they are parsed;
 * - each subscriber's backlog is bounded by PubSubGateway.iterate.
 * Every operation is still authorised by GraphqlAuthGuard like an HTTP one.
 */
@Injectable()
export class SubscriptionServer implements OnApplicationBootstrap, OnModuleDestroy {
  private wss?: WebSocketServer;
  private httpServer?: HttpServer;
  private readonly connections = new Set<Connection>();
  private recheckTimer?: NodeJS.Timeout;
  private revocations?: Promise<void>;
  private stopRevocations?: () => Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly loaders: InventoryLoaderFactory,
    private readonly auth: AuthService,
    private readonly pubsub: PubSubGateway,
  ) {}

  onApplicationBootstrap(): void {
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.config.GRAPHQL_WS_MAX_PAYLOAD_BYTES, handleProtocols });
    const server = this.graphqlWsServer();
    wss.on('connection', (socket: WebSocket, request: IncomingMessage) => this.bind(server, socket, request));
    this.wss = wss;
    this.httpServer = this.adapterHost.httpAdapter.getHttpServer() as HttpServer;
    this.httpServer.on('upgrade', this.onUpgrade);
    // Not awaited: a Redis outage at start-up must not keep the API from serving; the periodic
    // re-check still closes revoked tokens' connections meanwhile.
    this.revocations = this.pubsub
      .listenTo<ApiTokenRevoked>(API_TOKEN_REVOKED_CHANNEL, ({ tokenId }) => this.closeToken(tokenId, 'This API token has been revoked.'))
      .then(
        (stop) => {
          this.stopRevocations = stop;
        },
        (error: Error) => this.logger.warn(`not listening for API token revocations (${error.message}); relying on the periodic re-check`),
      );
    this.recheckTimer = setInterval(() => void this.recheck(), this.config.GRAPHQL_WS_RECHECK_SECONDS * 1000);
    this.recheckTimer.unref();
  }

  /** Resolves once revocations published from now on are heard (or listening failed). */
  async revocationsHeard(): Promise<void> {
    await this.revocations;
  }

  private graphqlWsServer(): GraphqlWsServer<Extra> {
    const limits = { maxDepth: this.config.GRAPHQL_MAX_DEPTH, maxCost: this.config.GRAPHQL_MAX_COST };
    return makeServer<Record<string, unknown>, Extra>({
      schema: () => this.schemaHost.schema,
      context: (ctx: WsContext) => createRequestContext(this.loaders, randomUUID(), authorizationOf(ctx.connectionParams)),
      onConnect: (ctx: WsContext) => this.onConnect(ctx),
      onSubscribe: (ctx: WsContext, _id, payload) => {
        // The entry of this operation is already in ctx.subscriptions.
        const max = this.config.GRAPHQL_WS_MAX_SUBSCRIPTIONS;
        if (Object.keys(ctx.subscriptions).length > max) {
          const refusal = new FarpointError(ErrorCode.RATE_LIMITED, `This connection already holds ${max} subscriptions, the most one may hold. Complete one first.`, {
            maxSubscriptions: max,
          });
          return [new GraphQLError(refusal.message, { originalError: refusal })];
        }
        // Apollo's plugins never see WebSocket operations: apply the depth and cost limits here too.
        return subscriptionLimitErrors(this.schemaHost.schema, payload, limits);
      },
      // Subscriptions run outside Apollo, so its formatError does not see their errors: give them the
      // same stable codes and the same scrubbing of internals here.
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors?.length ? { ...result, errors: result.errors.map((error) => this.formatError(error)) } : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => this.formatError(error)),
      onClose: (ctx: WsContext) => this.forget(ctx.extra.connection),
    });
  }

  /** Authenticates connection_init; refuses with 4401 and the reason when the token is not valid. */
  private async onConnect(ctx: WsContext): Promise<boolean> {
    const { socket } = ctx.extra;
    const authorization = authorizationOf(ctx.connectionParams);
    let expiresAt: Date | null;
    let tokenId: string;
    try {
      const result = await this.auth.authenticateUntil(authorization);
      ({ expiresAt } = result);
      tokenId = result.principal.tokenId;
    } catch (error) {
      if (!(error instanceof FarpointError) || error.code !== ErrorCode.UNAUTHENTICATED) {
        throw error;
      }
      socket.close(CloseCode.Unauthorized, closeReason(error.message));
      return false;
    }
    // The client may have gone while the token was looked up; onClose has run then.
    if (socket.readyState !== WebSocket.OPEN) {
      return false;
    }
    const connection: Connection = { socket, authorization: authorization!, tokenId, expiresAt };
    ctx.extra.connection = connection;
    this.connections.add(connection);
    this.scheduleExpiry(connection);
    return true;
  }

  private scheduleExpiry(connection: Connection): void {
    if (!connection.expiresAt) {
      return;
    }
    const left = connection.expiresAt.getTime() - Date.now();
    if (left <= 0) {
      return this.close(connection, 'This API token has expired.');
    }
    connection.expiryTimer = setTimeout(() => this.scheduleExpiry(connection), Math.min(left, MAX_TIMER_MS));
    connection.expiryTimer.unref();
  }

  private closeToken(tokenId: string, reason: string): void {
    for (const connection of this.connections) {
      if (connection.tokenId === tokenId) {
        this.close(connection, reason);
      }
    }
  }

  /** Authenticates each open connection's token again (one lookup per token), closing those no longer valid. */
  private async recheck(): Promise<void> {
    const byToken = new Map<string, Connection[]>();
    for (const connection of this.connections) {
      byToken.set(connection.authorization, [...(byToken.get(connection.authorization) ?? []), connection]);
    }
    for (const [authorization, connections] of byToken) {
      try {
        await this.auth.authenticate(authorization);
      } catch (error) {
        if (error instanceof FarpointError && error.code === ErrorCode.UNAUTHENTICATED) {
          connections.forEach((connection) => this.close(connection, error.message));
        }
        // Anything else (the database unreachable) keeps the connection until a check succeeds.
        else {
          this.logger.warn(`could not re-check a subscription token: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  }

  private close(connection: Connection, reason: string): void {
    this.forget(connection);
    if (connection.socket.readyState === WebSocket.OPEN) {
      connection.socket.close(CloseCode.Unauthorized, closeReason(reason));
    }
  }

  private forget(connection: Connection | undefined): void {
    if (!connection) {
      return;
    }
    clearTimeout(connection.expiryTimer);
    this.connections.delete(connection);
  }

  private formatError(error: GraphQLError): GraphQLFormattedError {
    return formatGraphqlError(
      error.toJSON(),
      error,
      (internal) => this.logger.error({ err: internal }, 'unexpected error in a GraphQL subscription'),
      (unavailable) => this.logger.warn(`GraphQL subscription answered SERVICE_UNAVAILABLE: ${unavailable instanceof Error ? unavailable.message : String(unavailable)}`),
    );
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const wss = this.wss;
    if (!wss || (request.url ?? '').split('?')[0] !== PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };

  /** graphql-ws's server on one `ws` socket (what graphql-ws/use/ws does, with our logger and limits). */
  private bind(server: GraphqlWsServer<Extra>, socket: WebSocket, request: IncomingMessage): void {
    // ws has already closed the socket (1009 for an oversized message, 1002 for a protocol error).
    socket.on('error', (error) => this.logger.debug({ err: error }, 'WebSocket error'));
    let pongWait: NodeJS.Timeout | undefined;
    const pinger = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) {
        return;
      }
      pongWait = setTimeout(() => socket.terminate(), KEEPALIVE_MS);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, KEEPALIVE_MS);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== WebSocket.OPEN) {
              return resolve();
            }
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => {
          if (socket.readyState === WebSocket.OPEN) {
            socket.close(code, reason);
          }
        },
        onMessage: (handle) =>
          socket.on('message', (data: WebSocket.RawData) => {
            handle(rawDataText(data)).catch((error: unknown) => {
              this.logger.error({ err: error }, 'unexpected error handling a graphql-ws message');
              if (socket.readyState === WebSocket.OPEN) {
                socket.close(CloseCode.InternalServerError, 'Internal server error');
              }
            });
          }),
      },
      { socket, request },
    );
    socket.once('close', (code: number, reason: Buffer) => {
      clearInterval(pinger);
      clearTimeout(pongWait);
      void closed(code, String(reason));
    });
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.recheckTimer);
    this.httpServer?.off('upgrade', this.onUpgrade);
    await this.stopRevocations?.().catch(() => undefined);
    const wss = this.wss;
    if (!wss) {
      return;
    }
    this.wss = undefined;
    for (const socket of wss.clients) {
      socket.close(1001, 'Going away');
    }
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}
