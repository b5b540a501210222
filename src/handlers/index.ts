/**
 * Every operation of the contract, by operationId. `HandlerMap` makes a missing
 * or misspelt operation a compile error; app.ts hands this map to http/.
 */
import type { HandlerMap } from '../contract/types.js';
import { getHealth, getProtected, getReadiness, getRoot } from './system.js';

export const handlers: HandlerMap = {
  getRoot,
  getHealth,
  getReadiness,
  getProtected,
};
