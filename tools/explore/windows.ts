/**
 * The named windows an extra copy may come through: tools/chaos/windows.ts's, plus one the chaos hooks never
 * open (a forward whose answer is lost to a Lambda service error or a timeout after it ran).
 */
import { UNEXPLAINED, WINDOWS as CHAOS_WINDOWS } from '../chaos/windows.js';

export const WINDOWS = {
  ...CHAOS_WINDOWS,
  forwardAnswerLost: 'forward answer lost after sending',
} as const;

export type WindowName = (typeof WINDOWS)[keyof typeof WINDOWS];
export type Attribution = WindowName | typeof UNEXPLAINED;
export { UNEXPLAINED };
