// The key ring that opens encrypted recordings for playback: the one the
// repeater seals them with (RECORDING_KEY, else the file RECORDING_KEY_FILE;
// lib/key-ring-file.ts). Read when a sealed recording is first played, and
// never created here: a server without the key refuses such a recording in
// words (RECORDING_KEY_MISSING) instead of serving bytes nobody can read.
import { existsSync } from 'node:fs';
import { loadKeyRing } from '../../lib/key-ring-file.ts';
import type { Logger } from '../../lib/logger.ts';
import type { KeyRing } from '../../lib/sealed.ts';

export function recordingKeyRing(source: { spec: string | null; file: string } | null, logger: Logger): () => KeyRing | null {
  let ring: KeyRing | null = null;
  let complained = false;
  return () => {
    if (ring || !source) return ring;
    if (source.spec === null && !existsSync(source.file)) return null;
    try {
      ring = loadKeyRing({ spec: source.spec, setting: 'RECORDING_KEY', file: source.file, fileSetting: 'RECORDING_KEY_FILE', protects: 'the session recordings' }).ring;
    } catch (err) {
      if (!complained) logger.error({ err }, 'the recording key ring cannot be read: sealed recordings cannot be played');
      complained = true;
    }
    return ring;
  };
}
