import { en } from './en.ts';
import type { Catalogue } from './index.ts';
export const es: Catalogue = { ...en }; // PLACEHOLDER
