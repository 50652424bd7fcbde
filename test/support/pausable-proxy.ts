/**
 * A TCP proxy on 127.0.0.1 that can cut the clients behind it off their server (Redis,
 * PostgreSQL) without closing a connection: a network partition, for the outage tests.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface PausableProxy {
  port: number;
  /** Stops every byte in both directions (held, not lost): a partition, no connection closes. */
  pause(): void;
  /** Delivers what was held, in order, and lets traffic flow again. */
  resume(): void;
  /** Called with every chunk a client sends towards the server. */
  onClientData: ((chunk: Buffer) => void) | undefined;
  close(): Promise<void>;
}

/** Starts the proxy on a free port, forwarding to `target` (host default 127.0.0.1). */
export async function startPausableProxy(target: { host?: string; port: number }): Promise<PausableProxy> {
  const sockets = new Set<Socket>();
  let paused = false;
  let held: Array<() => void> = [];
  const proxy: PausableProxy = {
    port: 0,
    onClientData: undefined,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      for (const deliver of held.splice(0)) deliver();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      held = [];
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host ?? '127.0.0.1');
    sockets.add(client).add(upstream);
    const relay = (from: Socket, to: Socket, towardsServer: boolean) =>
      from.on('data', (chunk: Buffer) => {
        if (towardsServer) proxy.onClientData?.(chunk);
        if (paused) held.push(() => to.write(chunk));
        else to.write(chunk);
      });
    relay(client, upstream, true);
    relay(upstream, client, false);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as { port: number }).port;
  return proxy;
}
