/**
 * The steps of the journey every generated client walks, in order. Kept apart
 * from journey.ts (typed for the DOM) so that `npm run clients:check` can read
 * the same list for its table's columns.
 */
export const STEPS = [
  'sign up',
  'log in',
  '/users/me',
  'create item',
  'search items',
  'order (Idempotency-Key)',
  'read order',
  'upload file',
  'download file',
  'activity log',
] as const;

export type Step = (typeof STEPS)[number];
