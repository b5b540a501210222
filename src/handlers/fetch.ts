/** Handlers for the `fetch` tag: the guide's parallel fetch behind an SSRF guard (src/fetch). */
import type { Input, Reply } from '../contract/types.js';
import type { Deps } from '../deps.js';
import { addressPolicy, hostPolicy } from '../fetch/address-policy.js';
import { fetchAll, representable } from '../fetch/guarded-fetch.js';
import type { FetchPolicy } from '../fetch/guarded-fetch.js';

/** The policy from configuration (cheap to build; config is frozen). */
function policyOf(config: Deps['config']['fetch']): FetchPolicy {
  return {
    hostAllowed: hostPolicy(config.allowedHosts),
    addressAllowed: addressPolicy(config.allowedCidrs),
    maxBytes: config.maxBytes,
    maxJsonDepth: config.maxJsonDepth,
  };
}

export async function fetchMultiple(
  input: Input<'fetchMultiple'>,
  deps: Deps,
): Promise<Reply<'fetchMultiple'>> {
  const { urls, timeout_ms: timeoutMs = 5000 } = input.body;
  const { concurrency, batchDeadlineMs } = deps.config.fetch;
  const results = await fetchAll(
    urls,
    { timeoutMs, concurrency, deadlineMs: batchDeadlineMs },
    policyOf(deps.config.fetch),
  );
  // Checked one by one, so a result the contract cannot carry fails only its own URL, never the reply.
  const fits = deps.validation.schema('/components/schemas/FetchResult');
  return { status: 200, body: { results: results.map((result) => representable(result, fits)) } };
}
