// The special keys menu of the viewer (a phone has no Esc, Tab, F-keys or
// Ctrl+Alt+Del): each entry is pressed in order and released in reverse.
// Key caps are named as printed on keyboards; the few that are words have a
// catalogue key. Keysyms are X11's (noVNC's core/input/keysym.js).
import type { MessageKey } from '../admin-web/messages/en.ts';

export interface SpecialKey {
  name: string;
  label?: MessageKey;
  keysyms: string[];
}

const CONTROL = '0xffe3';
const ALT = '0xffe9';
const fKey = (n: number): SpecialKey => ({ name: `F${n}`, keysyms: [`0x${(0xffbd + n).toString(16)}`] });

export const specialKeys: readonly SpecialKey[] = [
  { name: 'Ctrl+Alt+Del', label: 'viewer.cad', keysyms: [CONTROL, ALT, '0xffff'] },
  { name: 'Esc', keysyms: ['0xff1b'] },
  { name: 'Tab', keysyms: ['0xff09'] },
  { name: 'Win', label: 'viewer.key.super', keysyms: ['0xffeb'] },
  { name: 'Alt+Tab', keysyms: [ALT, '0xff09'] },
  { name: 'Alt+F4', keysyms: [ALT, '0xffc1'] },
  { name: 'Ctrl+C', keysyms: [CONTROL, '0x0063'] },
  { name: 'Ctrl+V', keysyms: [CONTROL, '0x0076'] },
  { name: '←', label: 'viewer.key.left', keysyms: ['0xff51'] },
  { name: '↑', label: 'viewer.key.up', keysyms: ['0xff52'] },
  { name: '→', label: 'viewer.key.right', keysyms: ['0xff53'] },
  { name: '↓', label: 'viewer.key.down', keysyms: ['0xff54'] },
  ...Array.from({ length: 12 }, (_, i) => fKey(i + 1)),
];
