#!/usr/bin/env node
// Runs one of the product's TypeScript entry points (server/main.ts,
// repeater/main.ts, server/cli.ts) on any supported Node. Node 24 LTS (and
// 22.18+) strips the types itself: nothing else is loaded, which is how
// production runs (deploy/*.service start `node server/main.ts` directly).
// An older Node (20.19+) gets tsx's loader, so `npm ci && npm start` still
// works on it; one older than 20.19 is told so in words.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`This is Node ${process.version}: the helpdesk needs Node 20.19 or newer, and runs best on Node 24 LTS (its types are then stripped by Node itself).`);
  process.exit(1);
}
const entry = process.argv[2];
if (!entry || !/^[\w./-]+\.ts$/.test(entry)) {
  console.error('usage: node bin/start.mjs <entry point>.ts [arguments]');
  process.exit(2);
}
// The entry point reads its own arguments from where it would if started directly.
process.argv.splice(1, 2, new URL(`../${entry}`, import.meta.url).pathname);
if (!process.features.typescript) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(new URL(`../${entry}`, import.meta.url).href);
