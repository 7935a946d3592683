/**
 * The messages whose earlier dead-letter send had no answer: the select step gives them a group of their
 * own (core/select.ts RegionGroup, region null), which the Forward iteration's first Choice sends here. They go to the
 * DLQ again through the Settle map's dead-letter path (never to a region, so a request is never both
 * dead-lettered and dispatched), then are marked DEAD_LETTERED.
 */
import { UNANSWERED } from '../core/placement.js';
import type { State } from './asl.js';
import { branchContext } from './settle.js';
import { FORWARD_BRANCH as names } from './state-names.js';

/** The group's label where a group is named (the console), and the reason its Settle iteration carries (each placement keeps its own for the DLQ). */
export const DEAD_LETTER_AGAIN = { label: 'again', reason: 'dead-letter again' } as const;

/** The one state between the Forward iteration's first Choice and its Settle map for that group. */
export function deadLetterAgainStates(): Record<string, State> {
  return {
    [names.deadLetterAgain]: {
      Type: 'Pass',
      Comment: 'Pending placements with no step unanswered: the Settle map sends each to the DLQ (its Default), never to a region.',
      Parameters: {
        ...branchContext,
        region: null,
        'placements.$': '$.placements',
        unanswered: UNANSWERED.none,
        reason: DEAD_LETTER_AGAIN.reason,
      },
      Next: names.settle,
    },
  };
}
