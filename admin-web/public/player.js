// The recording player: noVNC's own RFB, fed by a channel that replays the
// recorded desktop→viewer bytes at the chosen speed. The recorded
// viewer→desktop bytes are parsed here only (the repeater never parses RFB):
// PointerEvents draw the technician's pointer, KeyEvents mark the seek bar.
// Seeking back starts RFB again and fast-feeds up to the point; seeking
// forward fast-feeds. Format: repeater/recording.ts.
import { t } from './i18n.js';
import RFB from '/vendor/novnc/core/rfb.js';

const MAGIC = 'HCREC01\n';
const IDLE_GAP_MS = 1500;
const IDLE_LEAD_MS = 200;
const TICK_MS = 40;

const $ = (id) => document.getElementById(id);
const root = $('player');
const status = $('player-status');
const say = (text) => {
  status.textContent = text;
};

// ---------------------------------------------------------------- the file

async function inflateRaw(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Parses a recording: its header, its records in order, its trailer (null when cut short). */
export async function parseRecording(buf) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = new TextDecoder();
  if (buf.length < 12 || text.decode(buf.subarray(0, 8)) !== MAGIC) throw new Error(t('js.player.notRecording'));
  let at = 8;
  const headerLength = view.getUint32(at);
  const header = JSON.parse(text.decode(buf.subarray(at + 4, at + 4 + headerLength)));
  at += 4 + headerLength;
  if (header.version !== 1) throw new Error(t('js.player.badVersion', { version: header.version }));
  const records = [];
  let trailer = null;
  while (at < buf.length) {
    const tag = buf[at];
    if (tag === 0x45 && at + 5 <= buf.length) {
      const len = view.getUint32(at + 1);
      if (at + 5 + len > buf.length) break;
      trailer = JSON.parse(text.decode(buf.subarray(at + 5, at + 5 + len)));
      at += 5 + len;
      continue;
    }
    if (tag !== 0x42 || at + 18 > buf.length) break;
    const codec = buf[at + 1];
    const storedLength = view.getUint32(at + 14);
    if (at + 18 + storedLength > buf.length) break;
    const stored = buf.subarray(at + 18, at + 18 + storedLength);
    const raw = codec === 1 ? await inflateRaw(stored) : stored;
    const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let r = 0; r + 9 <= raw.length; ) {
      const len = rv.getUint32(r + 5);
      records.push({ dir: raw[r], ms: rv.getUint32(r + 1), data: raw.subarray(r + 9, r + 9 + len) });
      r += 9 + len;
    }
    at += 18 + storedLength;
  }
  return { header, records, trailer };
}

// ---------------------------------------------------------------- the viewer's messages

/**
 * Walks the viewer→desktop stream as RFB client messages: the handshake
 * (version, security type, VNC-auth response, ClientInit), then each message
 * by its length. Returns the pointer and key events with their times; stops
 * quietly at anything it does not know (the screen still plays).
 */
export function clientEvents(records) {
  const pieces = records.filter((r) => r.dir === 1);
  const total = pieces.reduce((n, p) => n + p.data.length, 0);
  const bytes = new Uint8Array(total);
  const starts = [];
  let o = 0;
  for (const p of pieces) {
    starts.push(o);
    bytes.set(p.data, o);
    o += p.data.length;
  }
  let piece = 0;
  const msAt = (offset) => {
    while (piece + 1 < starts.length && starts[piece + 1] <= offset) piece++;
    return pieces[piece]?.ms ?? 0;
  };
  const dv = new DataView(bytes.buffer);
  const pointer = [];
  const keys = [];
  let at = 0;
  const need = (n) => at + n <= total;
  if (!need(12)) return { pointer, keys };
  const minor = Number(new TextDecoder().decode(bytes.subarray(8, 11)));
  at = 12;
  if (minor >= 7) {
    if (!need(1)) return { pointer, keys };
    const security = bytes[at++];
    if (security === 2) at += 16; // VNC authentication's response
    else if (security !== 1) return { pointer, keys }; // other security types: not followed
  } else {
    // RFB 3.3: the server chose; a VNC-auth response is 16 bytes before ClientInit, None is nothing.
    if (total - at >= 17 && bytes[at + 16] <= 1 && bytes[at] > 1) at += 16;
  }
  at += 1; // ClientInit
  while (at < total) {
    const type = bytes[at];
    let len;
    switch (type) {
      case 0: len = 20; break;
      case 2: if (!need(4)) return { pointer, keys }; len = 4 + 4 * dv.getUint16(at + 2); break;
      case 3: len = 10; break;
      case 4: len = 8; break;
      case 5: len = 6; break;
      case 6: if (!need(8)) return { pointer, keys }; len = 8 + Math.abs(dv.getInt32(at + 4)); break;
      case 150: len = 10; break;
      case 248: if (!need(9)) return { pointer, keys }; len = 9 + bytes[at + 8]; break;
      case 250: len = 4; break;
      case 251: if (!need(8)) return { pointer, keys }; len = 8 + 16 * bytes[at + 6]; break;
      case 255: len = bytes[at + 1] === 0 ? 12 : 4; break;
      default: return { pointer, keys };
    }
    if (!need(len)) break;
    if (type === 5) pointer.push({ ms: msAt(at), mask: bytes[at + 1], x: dv.getUint16(at + 2), y: dv.getUint16(at + 4) });
    else if (type === 4) keys.push({ ms: msAt(at), down: bytes[at + 1] === 1 });
    else if (type === 255 && bytes[at + 1] === 0) keys.push({ ms: msAt(at), down: dv.getUint16(at + 2) === 1 });
    at += len;
  }
  return { pointer, keys };
}

// ---------------------------------------------------------------- the replaying channel

/** What RFB takes instead of a WebSocket (noVNC's "raw channel"). */
class ReplayChannel {
  constructor() {
    this.binaryType = 'arraybuffer';
    this.protocol = '';
    this.readyState = 'connecting';
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
  }

  open() {
    this.readyState = 'open';
    this.onopen?.(new Event('open'));
  }

  deliver(bytes) {
    if (this.readyState !== 'open') return;
    const copy = bytes.slice().buffer;
    this.onmessage?.({ data: copy });
  }

  // What the player's RFB sends is what the technician's viewer sent then: already recorded.
  send() {}

  close() {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.onclose?.({ code: 1000, reason: '', wasClean: true });
  }
}

// ---------------------------------------------------------------- playback

const fmt = (ms) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

class Player {
  #screen = $('screen');
  #rfb = null;
  #channel = null;
  #next = 0;
  position = 0;
  speed = 1;
  playing = false;
  skipIdle = true;
  #lastTick = 0;
  #timer = null;
  ended = false;

  constructor(recording, events) {
    this.records = recording.records.filter((r) => r.dir === 0);
    this.pointer = events.pointer;
    const lastMs = recording.records.length ? recording.records[recording.records.length - 1].ms : 0;
    this.duration = Math.max(recording.trailer?.durationMs ?? 0, lastMs);
    this.#start();
  }

  #start() {
    if (this.#rfb) {
      this.#rfb.disconnect();
      this.#screen.replaceChildren();
    }
    this.#channel = new ReplayChannel();
    this.#next = 0;
    this.#rfb = new RFB(this.#screen, this.#channel, { shared: true });
    this.#rfb.viewOnly = true;
    this.#rfb.scaleViewport = true;
    this.#rfb.focusOnClick = false;
    this.#channel.open();
  }

  /** Feeds every desktop→viewer record up to `ms` at once. */
  #feedTo(ms) {
    const records = this.records;
    while (this.#next < records.length && records[this.#next].ms <= ms) this.#channel.deliver(records[this.#next++].data);
  }

  seek(ms) {
    const target = Math.max(0, Math.min(ms, this.duration));
    if (target < this.position || this.ended) this.#start();
    this.ended = false;
    this.position = target;
    this.#feedTo(target);
    this.#render();
  }

  play() {
    if (this.ended || this.position >= this.duration) this.seek(0);
    this.playing = true;
    this.#lastTick = performance.now();
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
    this.#render();
  }

  pause() {
    this.playing = false;
    clearInterval(this.#timer);
    this.#timer = null;
    this.#render();
  }

  #tick() {
    const now = performance.now();
    let next = this.position + (now - this.#lastTick) * this.speed;
    this.#lastTick = now;
    if (this.skipIdle) {
      // Over a gap with no screen change, jump to just before the next one.
      const upcoming = this.records[this.#next];
      if (upcoming && upcoming.ms - next > IDLE_GAP_MS) next = upcoming.ms - IDLE_LEAD_MS;
      else if (!upcoming && this.duration - next > IDLE_GAP_MS) next = this.duration;
    }
    this.position = Math.min(next, this.duration);
    this.#feedTo(this.position);
    if (this.position >= this.duration) {
      this.ended = true;
      this.pause();
      say(t('js.player.end'));
      root.dataset.state = 'ended';
    }
    this.#render();
  }

  #render() {
    $('clock').textContent = `${fmt(this.position)} / ${fmt(this.duration)}`;
    const seek = $('seek');
    if (document.activeElement !== seek || this.playing) seek.value = String(Math.round(this.position));
    root.dataset.position = String(Math.round(this.position));
    const play = $('play');
    play.textContent = this.playing ? t('js.player.pause') : t('js.player.play');
    play.setAttribute('aria-pressed', String(this.playing));
    if (this.playing) root.dataset.state = 'playing';
    else if (!this.ended) root.dataset.state = 'paused';
    this.#drawPointer();
  }

  #drawPointer() {
    const el = $('pointer');
    let last = null;
    for (const p of this.pointer) {
      if (p.ms > this.position) break;
      last = p;
    }
    const canvas = this.#screen.querySelector('canvas');
    if (!last || !canvas || !canvas.width) {
      el.hidden = true;
      return;
    }
    const stage = $('stage').getBoundingClientRect();
    const box = canvas.getBoundingClientRect();
    el.hidden = false;
    el.style.left = `${box.left - stage.left + (last.x * box.width) / canvas.width}px`;
    el.style.top = `${box.top - stage.top + (last.y * box.height) / canvas.height}px`;
    el.classList.toggle('pressed', last.mask !== 0);
  }
}

async function main() {
  const id = root.dataset.recordingId;
  const res = await fetch(`/api/v1/recordings/${encodeURIComponent(id)}/file?purpose=playback`, { credentials: 'same-origin' });
  if (!res.ok) {
    const body = await res.json().catch((_notJson) => null);
    throw new Error(body?.error?.message ?? t('js.player.serverSaid', { status: res.status }));
  }
  const recording = await parseRecording(new Uint8Array(await res.arrayBuffer()));
  const events = clientEvents(recording.records);
  const player = new Player(recording, events);
  window.__player = player; // for the tests and the curious

  const seek = $('seek');
  seek.max = String(player.duration);
  const marks = $('key-marks');
  const markAt = new Set();
  for (const k of events.keys) {
    if (!k.down) continue;
    const pct = Math.round((k.ms / Math.max(1, player.duration)) * 1000) / 10;
    if (markAt.has(pct)) continue;
    markAt.add(pct);
    const m = document.createElement('span');
    m.style.left = `${pct}%`;
    marks.append(m);
  }
  marks.title = `${events.keys.filter((k) => k.down).length} key presses`;
  root.dataset.keyPresses = String(events.keys.filter((k) => k.down).length);
  root.dataset.pointerEvents = String(events.pointer.length);
  root.dataset.durationMs = String(player.duration);

  $('play').addEventListener('click', () => (player.playing ? player.pause() : player.play()));
  $('speed').addEventListener('change', (e) => {
    player.speed = Number(e.target.value);
  });
  $('skip-idle').addEventListener('change', (e) => {
    player.skipIdle = e.target.checked;
  });
  seek.addEventListener('input', () => player.seek(Number(seek.value)));
  $('play').disabled = false;
  seek.disabled = false;
  root.dataset.ready = 'true';
  say(recording.trailer ? t('js.player.ready') : t('js.player.readyCut'));
  player.seek(0);
}

main().catch((err) => {
  root.dataset.ready = 'error';
  say(t('js.player.notPlayable', { message: err.message }));
});
