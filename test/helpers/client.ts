/**
 * Working with the typed client (`t.api`, openapi-fetch over the generated
 * contract types): unwrapping an answer the test expects to succeed, and the
 * OAuth2 form the token endpoint takes.
 */
import { expect } from 'chai';
import type { components } from '../../generated/openapi.js';
import type { TestApp } from './app.js';

/** What the typed client answers for one call. */
export interface ClientAnswer<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/**
 * Asserts the status and returns the parsed body, typed as the contract declares it.
 * @example const item = expectAnswer(await t.api.POST('/items', { body, headers }), 201);
 */
export function expectAnswer<T>(answer: ClientAnswer<T>, status: number): T {
  expect(answer.response.status, JSON.stringify(answer.error)).to.equal(status);
  if (answer.data === undefined) throw new Error(`a ${status} answer without a body`);
  return answer.data;
}

/** Serialises a body as `application/x-www-form-urlencoded`, as OAuth2 clients send it. */
export function formBody(body: Readonly<Record<string, string | undefined>>): string {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) if (value !== undefined) form.set(name, value);
  return form.toString();
}

/** POST /token with the password grant, through the typed client. */
export function login(
  t: TestApp,
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<ClientAnswer<components['schemas']['Token']>> {
  return t.api.POST('/token', {
    body: { grant_type: 'password', username, password },
    bodySerializer: formBody,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
  });
}
