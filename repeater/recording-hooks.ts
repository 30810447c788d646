// What a live recording may do to its session: a required recording that
// falls behind holds both legs' reading (the relay slows to the disk's pace);
// one that cannot be written ends the session in words (RECORDING_FAILED,
// `failed`), never later than the event that said so.
import type { Leg } from './leg.ts';
import type { RecordingHooks } from './session-recordings.ts';

export function relayRecordingHooks(desktop: Leg, viewer: Leg, required: boolean, failed: () => void): RecordingHooks {
  return {
    pressure: (paused) => {
      desktop.holdForRecording(paused);
      viewer.holdForRecording(paused);
    },
    broken: () => {
      if (required) setImmediate(failed);
    },
  };
}
