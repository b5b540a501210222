/**
 * openapi-backend as the operationId → handler map. Handlers and security
 * handlers are registered with it at start-up, so its checks run then: the
 * document is indexed, a handler for an operation the contract does not have
 * or a scheme it does not declare is refused (strict), and an operation
 * without a handler stops the start. Its per-request lifecycle
 * (`handleRequest`) is not used: each operation's pipeline (pipeline.ts) is
 * compiled from this map instead.
 */
import { OpenAPIBackend, OpenAPIRouter } from 'openapi-backend';
import type { Document, Handler, Operation } from 'openapi-backend';
import type { Spec } from '../contract/spec.js';
import type { SecurityHandlers } from '../contract/types.js';
import type { Deps } from '../deps.js';
import type { ReplyLike } from './reply-check.js';

// The handler map is checked against the contract by tsc (HandlerMap); here it is only called.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = (input: any, deps: Deps) => Promise<ReplyLike>;

export interface HandlerRegistry {
  /** The handler registered for an operation. */
  handler(operationId: string): AnyHandler;
  readonly api: OpenAPIBackend;
}

/** openapi-backend's router with its operation list built once (it rebuilds it on every lookup). */
class IndexedRouter extends OpenAPIRouter {
  private operations: Operation[] | undefined;
  private byId: Map<string, Operation> | undefined;

  override getOperations(): Operation[] {
    this.operations ??= super.getOperations();
    return this.operations;
  }

  override getOperation(operationId: string): Operation | undefined {
    this.byId ??= new Map(this.getOperations().map((op) => [op.operationId ?? '', op]));
    return this.byId.get(operationId);
  }
}

/** Registers the handlers and security handlers with openapi-backend; throws when one is missing or unknown. */
export async function registerHandlers(
  spec: Spec,
  handlers: Readonly<Record<string, AnyHandler>>,
  security: SecurityHandlers,
): Promise<HandlerRegistry> {
  const api = new OpenAPIBackend({
    // openapi-backend dereferences its copy in place; the contract's own document stays untouched.
    definition: structuredClone(spec.document) as unknown as Document,
    // 5.x checks documents against the 3.0 meta-schema and registers no routes for 3.1 unless quick.
    quick: true,
    validate: false,
    strict: true,
  });
  await api.init();
  // Registering looks each operationId up: with the stock router that is a linear rebuild per handler.
  api.router = new IndexedRouter({ definition: api.definition });

  const missing = spec.operations.filter((op) => handlers[op.operationId] === undefined);
  if (missing.length > 0) {
    throw new Error(`No handler for: ${missing.map((op) => op.operationId).join(', ')}`);
  }
  for (const { operationId } of spec.operations) api.register(operationId, handlers[operationId]);
  // Registered so that a scheme the contract does not declare is refused now; the pipelines call them.
  for (const [name, check] of Object.entries(security)) {
    api.registerSecurityHandler(name, check as unknown as Handler);
  }

  return {
    api,
    handler(operationId) {
      const handler = api.handlers[operationId] as AnyHandler | undefined;
      if (handler === undefined) throw new Error(`No handler for ${operationId}`);
      return handler;
    },
  };
}
