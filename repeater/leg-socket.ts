// A leg's socket listeners, shared by every leg (no closures per leg: 9,000
// idle sessions are 18,000 legs). Each finds its leg through a symbol.
import type { Socket } from 'node:net';

export interface LegSocketEvents {
  socketError(code: string): void;
  socketClosed(): void;
  socketDrained(): void;
  socketData(chunk: Buffer): void;
}

const kLeg = Symbol('leg');
type LegSocket = Socket & { [kLeg]: LegSocketEvents };

function onError(this: LegSocket, err: Error & { code?: string }): void {
  this[kLeg].socketError(err.code ?? 'ERROR');
}
function onEnd(this: Socket): void {
  this.end(); // http.Server sockets allow half-open: a client's FIN is answered with ours
}
function onClose(this: LegSocket): void {
  this[kLeg].socketClosed();
}
function onDrain(this: LegSocket): void {
  this[kLeg].socketDrained();
}
function onData(this: LegSocket, chunk: Buffer): void {
  this[kLeg].socketData(chunk);
}
function ignore(): void {}

/** Wires an upgraded socket to its leg, paused until the leg starts reading. */
export function wireLegSocket(socket: Socket, leg: LegSocketEvents): void {
  socket.setNoDelay(true);
  socket.setTimeout(0);
  (socket as LegSocket)[kLeg] = leg;
  socket.on('error', onError);
  socket.on('end', onEnd);
  socket.on('close', onClose);
  socket.on('drain', onDrain);
  socket.pause();
}

/** Starts delivering reads to the leg's socketData. */
export function readLegSocket(socket: Socket): void {
  socket.on('data', onData);
}

/** Reads and drops everything (after the leg's close frame, until the client's FIN). */
export function drainLegSocket(socket: Socket): void {
  socket.on('data', ignore);
}
