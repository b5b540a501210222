/**
 * `npm run mock`: every operation answers from the contract's examples, with a
 * body that matches the declared schema; `Prefer: code=N` picks another
 * declared response; a secured operation without credentials is 401.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { loadContract } from '../../scripts/contract/document.js';
import type { Contract } from '../../scripts/contract/document.js';
import { checkDeclared } from '../../scripts/contract/checks.js';
import { fillPath, send } from '../../scripts/contract/http.js';
import { createMockServer } from '../../scripts/contract/mock.js';

describe('mock mode (npm run mock)', () => {
  let contract: Contract;
  let server: Server;
  let base: string;
  before(async () => {
    contract = await loadContract(path.resolve(import.meta.dirname, '../../generated/openapi.json'));
    server = await createMockServer(contract);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
  });

  const target = (operationId: string): { method: string; target: string } => {
    const op = contract.spec.byId.get(operationId);
    if (op === undefined) throw new Error(operationId);
    const values = Object.fromEntries(
      op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, p.example ?? 1]),
    );
    return { method: op.method.toUpperCase(), target: fillPath(op.path, values) };
  };

  it('answers every operation with its first 2xx, from the examples, as declared', async () => {
    for (const op of contract.spec.operations) {
      const res = await send(base, {
        ...target(op.operationId),
        headers: { authorization: 'Bearer x', 'x-api-key': 'k' },
      });
      // WebSocket upgrades (101) cannot be mocked: they answer their declared 426.
      const success = [...op.responses.keys()].filter((s) => s >= 200 && s < 300).sort()[0] ?? 426;
      expect(res.status, op.operationId).to.equal(success);
      expect(checkDeclared(contract, op, res, op.method.toUpperCase()), op.operationId).to.deep.equal([]);
      const [mediaType, media] = [...(op.responses.get(res.status)?.content.entries() ?? [])][0] ?? [];
      const example = media?.example;
      if (example === undefined) continue;
      if (mediaType !== undefined && /json/.test(mediaType))
        expect(JSON.parse(res.body.toString('utf8')), op.operationId).to.deep.equal(example);
      else if (typeof example === 'string')
        expect(res.body.toString('utf8'), op.operationId).to.equal(example);
    }
  });

  it('picks another declared response with Prefer: code=N', async () => {
    const res = await send(base, { ...target('getItem'), headers: { prefer: 'code=404' } });
    expect(res.status).to.equal(404);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
  });

  it('answers 401 to a secured operation called without credentials, and 405 with Allow to a wrong method', async () => {
    expect((await send(base, { ...target('listOrders'), headers: {} })).status).to.equal(401);
    const wrong = await send(base, { method: 'PUT', target: '/orders', headers: {} });
    expect(wrong.status).to.equal(405);
    expect(wrong.headers.get('allow')).to.equal('GET, POST');
  });
});
