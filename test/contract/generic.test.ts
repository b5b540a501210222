/**
 * The runner is driven by the contract alone: against a small fixture contract
 * with a multipart upload, a binary download and a WebSocket upgrade (the kinds
 * of operations other branches are adding), it sends real multipart bodies,
 * checks binary answers by their headers, and skips the upgrade with a reason.
 */
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';
import { expect } from 'chai';
import { contractOf } from '../../scripts/contract/document.js';
import { runContract } from '../../scripts/contract/runner.js';
import type { OpenApiDocument } from '../../src/contract/spec.js';

const problem = {
  description: 'A problem.',
  content: {
    'application/problem+json': {
      schema: { type: 'object', required: ['status'], properties: { status: { type: 'integer' } } },
    },
  },
};

const fixture = {
  openapi: '3.1.0',
  info: { title: 'fixture', version: '1' },
  paths: {
    '/upload': {
      post: {
        operationId: 'uploadFile',
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                additionalProperties: false,
                required: ['file'],
                properties: { file: { type: 'string', format: 'binary' } },
              },
              encoding: { file: { contentType: 'text/plain' } },
            },
          },
        },
        responses: {
          '201': {
            description: 'Stored.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['size'],
                  properties: { size: { type: 'integer', minimum: 0 } },
                },
              },
            },
          },
          '415': problem,
          '422': problem,
          '400': problem,
        },
      },
    },
    '/download/{file_id}': {
      get: {
        operationId: 'downloadFile',
        parameters: [
          {
            name: 'file_id',
            in: 'path',
            required: true,
            schema: { type: 'integer', minimum: 1 },
            example: 1,
          },
        ],
        responses: {
          '200': {
            description: 'The bytes.',
            headers: { 'Content-Length': { required: true, schema: { type: 'integer' } } },
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          '422': problem,
        },
      },
    },
    '/ws/{client_id}': {
      get: {
        operationId: 'connectWebSocket',
        parameters: [{ name: 'client_id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: { '101': { description: 'Switching protocols.' }, '426': problem },
      },
    },
  },
} as unknown as OpenApiDocument;

function answer(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

describe('runner on operations beyond JSON (multipart, binary, upgrade)', () => {
  let server: Server;
  let base: string;
  const uploads: { field: string; filename: string; bytes: number }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'POST' && url.pathname === '/upload') {
        if (!(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
          req.resume();
          answer(res, 415, 'application/problem+json', '{"status":415}');
          return;
        }
        let size = -1;
        let extra = false;
        let parser: busboy.Busboy;
        try {
          parser = busboy({ headers: req.headers });
        } catch {
          req.resume();
          answer(res, 400, 'application/problem+json', '{"status":400}');
          return;
        }
        parser.on('file', (field, stream, info) => {
          let bytes = 0;
          stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
          stream.on('end', () => {
            uploads.push({ field, filename: info.filename ?? '', bytes });
            if (field === 'file') size = bytes;
          });
        });
        parser.on('field', () => (extra = true));
        parser.on('close', () => {
          if (size < 0 || extra) answer(res, 422, 'application/problem+json', '{"status":422}');
          else answer(res, 201, 'application/json', JSON.stringify({ size }));
        });
        parser.on('error', () => answer(res, 400, 'application/problem+json', '{"status":400}'));
        req.pipe(parser);
        return;
      }
      const download = /^\/download\/([1-9]\d*)$/.exec(url.pathname);
      if (req.method === 'GET' && download !== null) {
        answer(res, 200, 'application/octet-stream', Buffer.from([0, 1, 2, 255]));
        return;
      }
      if (req.method === 'GET' && url.pathname.startsWith('/download/')) {
        answer(res, 422, 'application/problem+json', '{"status":422}');
        return;
      }
      const allow = url.pathname === '/upload' ? 'POST, OPTIONS' : 'GET, HEAD, OPTIONS';
      res.writeHead(req.method === 'OPTIONS' ? 204 : 405, { allow });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
  });

  it('uploads real multipart files, accepts binary downloads, and skips the upgrade with a reason', async () => {
    const report = await runContract({ baseUrl: base, contract: contractOf(fixture), cases: 20, seed: 5 });
    const problems = report.failures.map((f) => `${f.operation} ${f.case}: ${f.problems.join('; ')}`);
    expect(problems).to.deep.equal([]);
    const upload = report.operations.find((op) => op.operation === 'uploadFile');
    expect(upload?.statuses['201']).to.equal(20);
    expect(
      uploads.filter((u) => u.field === 'file' && u.filename.startsWith('contract-')).length,
    ).to.be.at.least(20);
    expect(report.operations.find((op) => op.operation === 'downloadFile')?.statuses['200']).to.equal(20);
    expect(report.operations.find((op) => op.operation === 'connectWebSocket')?.skipped).to.match(/upgrade/);
  });

  it('fails a binary answer that lacks its declared header', async () => {
    const broken = structuredClone(fixture) as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>>;
    };
    const ok = broken.paths['/download/{file_id}']?.['get']?.responses['200'];
    if (ok === undefined) throw new Error('fixture changed');
    ok.headers = { 'X-Checksum': { required: true, schema: { type: 'string' } } };
    const report = await runContract({
      baseUrl: base,
      contract: contractOf(broken as unknown as OpenApiDocument),
      cases: 3,
      seed: 5,
      only: ['downloadFile'],
    });
    expect(report.failures[0]?.problems).to.deep.include('declared header X-Checksum is missing from 200');
  });
});
