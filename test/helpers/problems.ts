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

/** An answer read some other way than fetch: its parsed problem, or its body text. */
export type ReadAnswer =
  | { readonly status: number; readonly problem: unknown }
  | { readonly status: number; readonly body: string }
  | { readonly status: number; readonly type: string; readonly detail?: string };

/** What the typed client (openapi-fetch) answers: the response, and the parsed error body. */
export interface ClientResult {
  readonly response: Response;
  readonly error?: unknown;
}

/**
 * Checks that `res` is a problem answer with this status and catalogued type, and returns its body.
 * A fetch Response is read from a clone, so the test may still read the body itself.
 * @example await expectProblem(res, 409, 'email-taken');
 */
export async function expectProblem(
  res: Response | ReadAnswer | ClientResult,
  status: number,
  type: ProblemSlug,
): Promise<ProblemJson> {
  if ('response' in res) {
    expect(res.response.status).to.equal(status);
    expect(res.response.headers.get('content-type')).to.match(/^application\/problem\+json/);
    return expectProblemBody(res.error, status, type);
  }
  expect(res.status).to.equal(status);
  if (res instanceof Response) {
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    return expectProblemBody(await res.clone().json(), status, type);
  }
  if ('problem' in res) return expectProblemBody(res.problem, status, type);
  if ('body' in res) return expectProblemBody(JSON.parse(res.body), status, type);
  expect(res.type).to.equal(`/problems/${type}`);
  return { ...res, title: PROBLEM_TYPES[type].title };
}
