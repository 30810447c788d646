// The repeater's close-code table as the viewer page reads it
// (/tech-assets/close-codes.json): one source of truth for both sides.
import { CloseCode } from '../protocol/close-codes.ts';

export function closeCodesJson(): Record<string, number> {
  return { ...CloseCode };
}
