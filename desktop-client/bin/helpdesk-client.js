#!/usr/bin/env node
// Runs the terminal client from its TypeScript sources (tsx registers the loader).
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
