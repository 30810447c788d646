// The recording player: noVNC's own RFB fed by a channel that replays the
// recorded desktop→viewer bytes at the chosen speed (player-feed.js). The
// file is read by HTTP Range, never whole: first its head (the header) and
// its tail (footer, index, trailer: recording-file.js), then blocks in order
// as playback needs them; a file without an index (version 1, or cut short)
// is read from the start the same way. Seeking forward fast-feeds; seeking
// back starts RFB again and fast-feeds from the first block. Dragging the
// seek bar only says where it is wanted: one seek runs at a time, the latest
// position wins. In the background (a worker, player-scan.js; it waits while
// a seek runs) the whole file is read once for what the seek bar shows (key
// presses), how many pointer events there are, and, for a file without an
// index, its length and any damaged block.
import { fmt as formats, t } from './i18n.js';
import { httpFile, httpSource } from './recording-source.js';
import { RecordingError, findTrailer, readHead, readIndex } from './recording-file.js';
import { startScan, startWorker } from './player-scan.js';
import { blockReader } from './player-read.js';

const IDLE_GAP_MS = 1500;
const IDLE_LEAD_MS = 200;
const TICK_MS = 40;

const $ = (id) => document.getElementById(id);
const root = $('player');
const status = $('player-status');
const fmt = (ms) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

class Player {
  position = 0;
  speed = 1;
  playing = false;
  skipIdle = true;
  ended = false;
  /** Seeks played so far (one per settled drag, never one per input event). */
  seeksRun = 0;
  /** Told true when seeking starts, false when it settles. */
  onSeeking = null;
  #feeder;
  #wanted = null;
  #seeking = null;
  #frame = 0;
  #feeding = false;
  #lastTick = 0;
  #timer = null;

  constructor(feeder, duration) {
    this.#feeder = feeder;
    this.duration = duration;
  }

  /** Asks for a position; the seek runs on the next frame, after any running one, and only the latest asked for is played. */
  seek(ms) {
    this.#wanted = Math.max(0, Math.min(ms, this.duration));
    if (!root.dataset.seeking) this.onSeeking?.(true);
    root.dataset.seeking = 'true';
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#seeking ??= this.#runSeeks().finally(() => (this.#seeking = null));
    });
  }

  async #runSeeks() {
    while (this.#wanted !== null) {
      const target = this.#wanted;
      this.#wanted = null;
      this.seeksRun += 1;
      if (target < this.#feeder.position) this.#feeder.restart();
      this.ended = false;
      this.position = target;
      this.#render();
      await this.#feeder.feedTo(target, () => this.#wanted !== null);
    }
    delete root.dataset.seeking;
    this.onSeeking?.(false);
    this.#render();
  }

  /** Opens on the desktop's first picture (not the empty screen at 0 ms), without playing. */
  async openOnFirstFrame() {
    this.position = await this.#feeder.feedToFirstFrame(this.duration);
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
    const elapsed = now - this.#lastTick;
    this.#lastTick = now;
    // While a seek runs or a block loads, the clock waits for the screen.
    if (this.#seeking || this.#wanted !== null || this.#feeding) return;
    let next = this.position + elapsed * this.speed;
    if (this.skipIdle) {
      // Over a gap with no screen change, jump to just before the next one.
      const upcoming = this.#feeder.nextDesktopMs();
      if (typeof upcoming === 'number' && upcoming - next > IDLE_GAP_MS) next = upcoming - IDLE_LEAD_MS;
      else if (upcoming === 'end' && this.duration - next > IDLE_GAP_MS) next = this.duration;
    }
    this.position = Math.min(next, this.duration);
    this.#feeding = true;
    void this.#feeder.feedTo(this.position).finally(() => {
      this.#feeding = false;
      if (this.playing && this.position >= this.duration) {
        this.ended = true;
        this.pause();
        say(t('js.player.end'));
        root.dataset.state = 'ended';
      }
      this.#render();
    });
  }

  #render() {
    $('clock').textContent = `${fmt(this.position)} / ${fmt(this.duration)}`;
    const seek = $('seek');
    seek.max = String(this.duration);
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
    const last = this.#feeder.pointer;
    const canvas = $('screen').querySelector('canvas');
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

// ---------------------------------------------------------------- what the page says

const words = { base: t('js.player.loading'), damaged: new Map() };
function say(text) {
  words.base = text;
  const damaged = [...words.damaged.values()];
  const first = damaged.reduce((min, d) => Math.min(min, d.ms ?? Infinity), Infinity);
  status.textContent = damaged.length === 0 ? text : `${text} ${t('js.player.damaged', { count: damaged.length, at: fmt(Number.isFinite(first) ? first : 0) })}`;
  root.dataset.damagedBlocks = String(damaged.length);
}

/** A damaged block skipped (by playback or by the background read: told once). */
function damaged(report) {
  if (words.damaged.has(report.offset)) return;
  words.damaged.set(report.offset, { ms: report.firstMs, reason: report.reason });
  say(words.base);
}

function showKeystrokesNotRecorded() {
  root.dataset.keystrokes = 'not-recorded';
  const note = document.createElement('span');
  note.id = 'keys-note';
  note.className = 'keys-note';
  note.textContent = t('js.player.keysNotRecorded');
  root.querySelector('.player-controls')?.append(note);
}

/** What the scan found: key marks on the seek bar, the counts, and the length of a file without an index. */
async function scan(scanning, file, player) {
  const { keys, pointerEvents, lastMs } = await scanning.result;
  if (!file.index) {
    player.duration = Math.max(lastMs, file.trailer?.durationMs ?? 0);
    root.dataset.durationMs = String(player.duration);
    $('seek').max = String(player.duration);
  }
  const marks = $('key-marks');
  const markAt = new Set();
  for (const ms of keys) {
    const pct = Math.round((ms / Math.max(1, player.duration)) * 1000) / 10;
    if (markAt.has(pct)) continue;
    markAt.add(pct);
    const m = document.createElement('span');
    m.style.left = `${pct}%`;
    marks.append(m);
  }
  marks.title = t('js.player.keyPresses', { n: formats.number(keys.length) });
  root.dataset.pointerEvents = String(pointerEvents);
  root.dataset.keyPresses = String(keys.length);
}

/** The stage takes the window below its top (at least MIN_STAGE_PX): a recording is seen whole, scaled to fit, without scrolling. */
const MIN_STAGE_PX = 240;
function fitStage() {
  const stage = $('stage');
  const bottomGap = 16;
  stage.style.height = `${Math.max(MIN_STAGE_PX, window.innerHeight - stage.getBoundingClientRect().top - bottomGap)}px`;
}

async function main() {
  fitStage();
  window.addEventListener('resize', fitStage);
  const url = `/api/v1/recordings/${encodeURIComponent(root.dataset.recordingId)}/file?purpose=playback`;
  const reading = httpFile(url);
  // The scan's worker is asked for first; noVNC (dozens of modules) loads while the file's head and tail are read.
  const scanWorker = startWorker(new URL('./player-scan-worker.js', import.meta.url));
  const feeding = import('./player-feed.js');
  feeding.catch((_toldBelow) => null);
  const http = await reading;
  const head = httpSource(http);
  const { version, header, dataStart } = await readHead(head);
  const index = version === 2 ? await readIndex(head, dataStart) : null;
  const trailer = await findTrailer(head, dataStart, index ? index.offset : http.size);
  const file = { version, dataStart, index, trailer, header };
  const scanning = startScan(url, http, file, damaged, scanWorker);
  scanning.result.catch((_toldBelow) => null);
  const rowDuration = Number(root.dataset.durationMs) || 0;
  const lastMs = index && index.count > 0 ? index.lastMs[index.count - 1] : 0;
  const duration = index ? Math.max(lastMs, trailer?.durationMs ?? 0) : Math.max(rowDuration, trailer?.durationMs ?? 0);
  const blocks = blockReader(http, file);
  const { Feeder } = await feeding;
  const feeder = new Feeder($('screen'), () => blocks.walk(), { damaged });
  const player = new Player(feeder, duration);
  window.__player = player; // for the tests and the curious
  player.onSeeking = scanning.hold;
  root.dataset.durationMs = String(duration);
  if (header.keystrokes === false) showKeystrokesNotRecorded();

  const seek = $('seek');
  seek.max = String(player.duration);
  $('play').addEventListener('click', () => (player.playing ? player.pause() : player.play()));
  $('speed').addEventListener('change', (e) => {
    player.speed = Number(e.target.value);
  });
  $('skip-idle').addEventListener('change', (e) => {
    player.skipIdle = e.target.checked;
  });
  seek.addEventListener('input', () => player.seek(Number(seek.value)));
  await player.openOnFirstFrame();
  $('play').disabled = false;
  seek.disabled = false;
  root.dataset.ready = 'true';
  say(index || trailer ? t('js.player.ready') : t('js.player.readyCut'));
  await scan(scanning, file, player).catch((err) => {
    // Playback goes on; only the key marks and counts are missing.
    root.dataset.scan = 'failed';
    console.warn('reading the whole recording failed', err);
  });
}

main().catch((err) => {
  root.dataset.ready = 'error';
  const message = err instanceof RecordingError ? t(`js.player.${err.code}`, err.params) : err.message;
  say(t('js.player.notPlayable', { message }));
});
