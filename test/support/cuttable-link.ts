import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A TCP proxy on loopback whose link can be cut, for fault tests: while cut it resets every connection,
 * open or new, as a lost uplink or an unreachable database does. The traffic itself is untouched: the
 * real server (API, Postgres) answers whatever gets through.
 */
export class CuttableLink {
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  private cut = false;
  port = 0;

  async start(targetHost: string, targetPort: number): Promise<void> {
    this.server = createServer((client) => {
      if (this.cut) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  down(): void {
    this.cut = true;
    for (const socket of this.sockets) {
      socket.destroy();
    }
  }

  up(): void {
    this.cut = false;
  }

  async stop(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
