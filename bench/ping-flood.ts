// The ping-flood memory bound: one websocket client sends 125-byte pings as
// fast as it can and never reads (so never reads its pongs), for at most
// 150 MiB or 20 s. What the relay's process tree grows by is its answer; the
// flood stops early when the relay stops reading it (its bytes pile up in the
// driver). Loopback only.
import { maskedFrame, rawWebSocket } from './raw-ws.ts';
import { treeRssBytes } from './proc-cpu.ts';
import { HOST, MiB, sleep, type Relay, type Sink } from './bench-kit.ts';

export interface FloodFigures {
  sentMiB: number;
  /** The relay's resident memory at its highest during the flood, above where it began. */
  relayGrowthMiB: number;
}

export async function pingFlood(system: Relay, sink: Sink): Promise<FloodFigures> {
  const before = treeRssBytes(system.pid!);
  let socket;
  if (system.name === 'websockify') {
    socket = (await rawWebSocket(HOST, system.port, '/')).socket;
    await sink.next(); // its TCP side, held open and unread like the rest
  } else {
    socket = (await rawWebSocket(HOST, system.port, '/wsServer?token=bench.flood.desktop')).socket;
    await rawWebSocket(HOST, system.port, '/wsClient?token=bench.flood.viewer');
  }
  socket.pause();
  const ping = maskedFrame(Buffer.alloc(125, 7), { opcode: 0x9 });
  const batch = Buffer.concat(Array.from({ length: 1024 }, () => ping));
  let sent = 0;
  let highest = before;
  const deadline = Date.now() + 20_000;
  for (let i = 0; sent < 150 * MiB && Date.now() < deadline; i++) {
    if (socket.writableLength > 64 * MiB) {
      await sleep(50); // the relay stopped reading: the flood waits at the driver
    } else {
      socket.write(batch);
      sent += batch.length;
    }
    if (i % 16 === 0) highest = Math.max(highest, treeRssBytes(system.pid!));
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (let i = 0; i < 10; i++) {
    highest = Math.max(highest, treeRssBytes(system.pid!));
    await sleep(100);
  }
  socket.destroy();
  return { sentMiB: sent / MiB, relayGrowthMiB: (highest - before) / MiB };
}
