// Closing a connection the client is still sending on. A socket closed with unread bytes in it is
// reset, and a client that is still writing its body never reads the answer it was sent (a 400 for
// bad HTTP, a refused upgrade). So the rest is read and dropped, the answer is followed by a FIN, and
// the socket is destroyed once the client is done — or after `maxMs`, whatever it still sends.
import type { Socket } from 'node:net';

/** Ends `socket` after what was written, draining what still arrives for at most `maxMs`. */
export function closeGently(socket: Socket, destroy: (err?: Error) => void = (err) => socket.destroy(err), maxMs = 2000, err?: Error): void {
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  socket.end();
  setTimeout(() => destroy(err), maxMs).unref();
  socket.once('close', () => destroy(err));
}
