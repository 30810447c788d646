// The optional sound (the queue's "Sound" switch, kept in localStorage): a short tone.
export function beep(frequency = 880, seconds = 0.15) {
  if (localStorage.getItem('hd.sound') !== 'on') return;
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (!AudioContextClass) return;
  const audio = new AudioContextClass();
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.frequency.value = frequency;
  gain.gain.value = 0.1;
  osc.connect(gain).connect(audio.destination);
  osc.start();
  osc.stop(audio.currentTime + seconds);
}
