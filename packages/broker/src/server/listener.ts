/** The TCP listener: accepts connections and hands each to a Connection. */
import { createServer, type Server, type Socket } from 'node:net';
import type { BrokerContext } from '../broker-context.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { Connection, type ConnectionLimits } from './connection.js';

export class Listener {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();

  constructor(
    private readonly broker: BrokerContext,
    private readonly registry: HandlerRegistry,
    private readonly limits: ConnectionLimits,
  ) {
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, backlog: 1024 }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.broker.logger.error('listener error', { error: err.message }));
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') return reject(new Error('listener has no address'));
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.close('shutdown');
    await closed;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    try {
      // socket.send/receive.buffer.bytes are accepted but not applied: Node exposes no
      // SO_SNDBUF/SO_RCVBUF setters, so the kernel's autotuned buffers apply.
      const c = new Connection(socket, this.broker, this.registry, this.limits, (conn) => this.connections.delete(conn));
      this.connections.add(c);
    } catch (err) {
      this.broker.logger.error('cannot accept connection', { error: (err as Error).message });
      socket.destroy();
    }
  }
}
