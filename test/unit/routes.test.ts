import { expect } from 'chai';
import { RouteIndex } from '../../src/contract/routes.js';
import type { OperationSpec } from '../../src/contract/spec.js';

const op = (method: string, path: string): OperationSpec =>
  ({ operationId: `${method} ${path}`, method, path }) as unknown as OperationSpec;

describe('route index: implied HEAD and OPTIONS', () => {
  const getItem = op('get', '/items/{item_id}');
  const patchItem = op('patch', '/items/{item_id}');
  const headReport = op('head', '/reports');
  const getReport = op('get', '/reports');
  const optionsTask = op('options', '/tasks');
  const routes = new RouteIndex([
    getItem,
    patchItem,
    headReport,
    getReport,
    optionsTask,
    op('post', '/token'),
  ]);

  it("runs the path's GET operation for HEAD, with its parameters", () => {
    expect(routes.match('HEAD', '/items/7')).to.deep.equal({
      kind: 'operation',
      operation: getItem,
      params: { item_id: '7' },
    });
  });

  it('prefers a HEAD or OPTIONS operation the contract declares', () => {
    expect(routes.match('head', '/reports')).to.include({ kind: 'operation', operation: headReport });
    expect(routes.match('OPTIONS', '/tasks')).to.include({ kind: 'operation', operation: optionsTask });
  });

  it('answers OPTIONS with Allow: declared methods, HEAD after GET, OPTIONS last', () => {
    expect(routes.match('OPTIONS', '/items/7')).to.deep.equal({
      kind: 'options',
      allow: ['GET', 'HEAD', 'PATCH', 'OPTIONS'],
    });
    expect(routes.match('OPTIONS', '/reports')).to.deep.equal({
      kind: 'options',
      allow: ['HEAD', 'GET', 'OPTIONS'],
    });
  });

  it('refuses HEAD where there is no GET, and any other method, with the same Allow', () => {
    expect(routes.match('HEAD', '/token')).to.deep.equal({
      kind: 'method-not-allowed',
      allow: ['POST', 'OPTIONS'],
    });
    expect(routes.match('DELETE', '/items/7')).to.deep.equal({
      kind: 'method-not-allowed',
      allow: ['GET', 'HEAD', 'PATCH', 'OPTIONS'],
    });
    expect(routes.match('GET', '/tasks')).to.deep.equal({ kind: 'method-not-allowed', allow: ['OPTIONS'] });
  });
});
