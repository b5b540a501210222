/** Assertions on problem answers: the catalogued type, its fixed title and status. */
import { expect } from 'chai';
import { PROBLEM_TYPES } from '../../src/contract/problems.js';
import type { ProblemSlug } from '../../src/contract/problems.js';

export interface ProblemJson {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly request_id?: string;
  readonly errors?: readonly { in: string; path: string; message: string; keyword: string }[];
  readonly errors_omitted?: number;
}

/** Checks a problem document's `type`, `title` and `status` against the catalogue. */
export function expectProblemBody(body: unknown, status: number, type: ProblemSlug): ProblemJson {
  const entry = PROBLEM_TYPES[type];
  expect(entry.status, `the catalogue sends ${type} with ${entry.status}`).to.equal(status);
  expect(body).to.include({ type: `/problems/${type}`, title: entry.title, status });
  return body as ProblemJson;
}

/**
 * Checks that `res` is a problem+json answer with this status and catalogued type, and returns its body.
 * @example await expectProblem(res, 409, 'email-taken');
 */
export async function expectProblem(res: Response, status: number, type: ProblemSlug): Promise<ProblemJson> {
  expect(res.status).to.equal(status);
  expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
  return expectProblemBody(await res.json(), status, type);
}
