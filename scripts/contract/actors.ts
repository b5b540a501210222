/**
 * Who the runner acts as. Given `--login` of an admin it signs up a regular
 * user too; given nothing it signs up a fresh user itself. Operations pick the
 * admin when their `x-roles` allow it (so owner-only rules never hide a
 * response), the user otherwise.
 */
import fc from 'fast-check';
import type { OperationSpec } from '../../src/contract/spec.js';
import type { Contract } from './document.js';
import { isObject } from './document.js';
import { arbitraryFor } from './arbitraries.js';
import { send, toWire } from './http.js';

export interface Actor {
  readonly name: 'admin' | 'user';
  readonly token: string;
  readonly id: unknown;
  readonly role: string | undefined;
  readonly email?: string;
  readonly password?: string;
  /** True for an account the runner signed up itself in this run (it may fail logins on it). */
  readonly created?: boolean;
}

export interface Actors {
  readonly admin: Actor | undefined;
  readonly user: Actor | undefined;
  /** What happened while setting up, for the report. */
  readonly notes: readonly string[];
}

export interface ActorOptions {
  readonly baseUrl: string;
  readonly contract: Contract;
  readonly token?: string | undefined;
  readonly login?: { readonly email: string; readonly password: string } | undefined;
  readonly seed: number;
}

/** The OAuth2 password flow's token URL, if the contract has one. */
export function tokenOperation(contract: Contract): OperationSpec | undefined {
  const schemes = contract.document.components?.['securitySchemes'] ?? {};
  for (const scheme of Object.values(schemes)) {
    const flow = isObject(scheme) && isObject(scheme['flows']) ? scheme['flows']['password'] : undefined;
    const url = isObject(flow) ? flow['tokenUrl'] : undefined;
    if (typeof url === 'string') {
      const path = new URL(url, 'http://x').pathname;
      return contract.spec.operations.find((op) => op.method === 'post' && op.path === path);
    }
  }
  return undefined;
}

async function logIn(options: ActorOptions, email: string, password: string): Promise<string> {
  const operation = tokenOperation(options.contract);
  const path = operation?.path ?? '/token';
  const res = await send(options.baseUrl, {
    method: 'POST',
    target: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: Buffer.from(new URLSearchParams({ grant_type: 'password', username: email, password }).toString()),
  });
  if (res.status !== 200)
    throw new Error(
      `logging in as ${email} answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`,
    );
  const token = (JSON.parse(res.body.toString('utf8')) as { access_token?: unknown }).access_token;
  if (typeof token !== 'string') throw new Error('the token response has no access_token');
  return token;
}

async function whoAmI(
  options: ActorOptions,
  token: string,
): Promise<{ id: unknown; role: string | undefined }> {
  const me = options.contract.spec.byId.get('getCurrentUser');
  if (me === undefined) return { id: undefined, role: undefined };
  const res = await send(options.baseUrl, {
    method: 'GET',
    target: me.path,
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`${me.path} with the given credentials answered ${res.status}`);
  const body = JSON.parse(res.body.toString('utf8')) as { id?: unknown; role?: unknown };
  return { id: body.id, role: typeof body.role === 'string' ? body.role : undefined };
}

/** Signs up a new account through `createUser` with a generated valid body and a known password. */
async function signUp(options: ActorOptions, label: string): Promise<Actor> {
  const { contract } = options;
  const create = contract.spec.byId.get('createUser');
  const media = create?.requestBody?.content.get('application/json');
  if (create === undefined || media?.schemaPointer === undefined)
    throw new Error('the contract has no createUser to sign up with');
  const [generated] = fc.sample(
    arbitraryFor({ contract, pools: new Map() }, contract.at(media.schemaPointer)),
    { numRuns: 1, seed: options.seed },
  );
  const email = `qa-${label}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const password = 'QaSecret123';
  // Only the required members: an optional unique one (a username) would collide on the next run.
  const schema = contract.deref(contract.at(media.schemaPointer));
  const required = new Set(Array.isArray(schema['required']) ? schema['required'].map(String) : []);
  const members = Object.entries(isObject(generated) ? generated : {}).filter(([name]) => required.has(name));
  const body = { ...Object.fromEntries(members), email, password };
  const res = await send(
    options.baseUrl,
    toWire(
      contract,
      create,
      { path: {}, query: {}, header: {}, body: { mediaType: 'application/json', value: body } },
      {},
    ),
  );
  if (res.status !== 201)
    throw new Error(`signing up ${email} answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
  const token = await logIn(options, email, password);
  const me = await whoAmI(options, token);
  return { name: 'user', token, ...me, email, password, created: true };
}

/** Sets up the admin (when the given credentials are an admin's) and a regular user. */
export async function setUpActors(options: ActorOptions): Promise<Actors> {
  const notes: string[] = [];
  let given: Actor | undefined;
  if (options.login !== undefined) {
    const token = await logIn(options, options.login.email, options.login.password);
    const me = await whoAmI(options, token);
    given = { name: me.role === 'admin' ? 'admin' : 'user', token, ...me, ...options.login };
    notes.push(`logged in as ${options.login.email} (role ${me.role ?? 'unknown'})`);
  } else if (options.token !== undefined) {
    const me = await whoAmI(options, options.token);
    given = { name: me.role === 'admin' ? 'admin' : 'user', token: options.token, ...me };
    notes.push(`using the given token (role ${me.role ?? 'unknown'})`);
  }
  const admin = given?.name === 'admin' ? given : undefined;
  let user = given?.name === 'user' ? given : undefined;
  if (user === undefined && options.contract.spec.byId.has('createUser')) {
    user = await signUp(options, 'user');
    notes.push(`signed up ${user.email ?? 'a user'} as the regular user`);
  } else if (user === undefined) {
    notes.push(
      'no credentials and no createUser to sign up with: secured operations are checked for 401 only',
    );
  }
  if (admin === undefined)
    notes.push(
      'no admin credentials: admin-only operations are checked for 403 only (pass --login of an admin)',
    );
  return { admin, user, notes };
}

/** The actor an operation runs as: the admin where `x-roles` allows it, the user otherwise. */
export function actorFor(actors: Actors, operation: OperationSpec): Actor | undefined {
  const roles = operation.roles;
  if (actors.admin !== undefined && (roles === undefined || roles.includes('admin'))) return actors.admin;
  return actors.user ?? actors.admin;
}
