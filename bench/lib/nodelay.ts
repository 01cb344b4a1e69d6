import net from 'node:net';
import { once } from 'node:events';

/**
 * postgres.js opens plain net.Sockets, Nagle's algorithm on. A write made while an earlier segment
 * is unacknowledged (a COPY's last chunk, a statement after a COPY, a parameter larger than a
 * segment, two pipelined queries) then waits for the server's delayed ACK: about 40 ms on Linux.
 * The benchmark's own connections (setup and the raw-rate baselines) use this factory instead.
 */
export async function noDelaySocket(options: { host?: string[]; port?: number[] }): Promise<net.Socket> {
  const socket = net.connect({ host: options.host?.[0] ?? '127.0.0.1', port: options.port?.[0] ?? 5432, noDelay: true });
  await once(socket, 'connect');
  return socket;
}

/**
 * For the wahub process when asked (--experiment pg-nodelay): every client socket it opens gets
 * TCP_NODELAY before it connects. ioredis and the HTTP server set it already; this reaches
 * postgres.js, to measure what the app would gain. Not the app as shipped.
 */
export function forceNoDelayOnClientSockets(): void {
  const connect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    this.setNoDelay(true);
    return connect.apply(this, args);
  } as typeof net.Socket.prototype.connect;
}
