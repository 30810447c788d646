/* global process */
// The encoder thread's entry point (encoder-thread.ts starts it): runs
// recording-encoder.ts the way bin/start.mjs runs the product — Node's own
// type stripping where Node has it, else tsx's loader, registered in this
// thread (a worker does not inherit the main thread's loader).
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import('./recording-encoder.ts');
