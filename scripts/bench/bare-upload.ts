/**
 * The request handler both bare upload baselines share (files-bare.ts,
 * files-bare-copy.ts): busboy over the request, `store` for each file part,
 * then 201 `{"stored": [...]}` (what `store` returned for each part) once every
 * part is stored, 500 if one failed, 400 on a malformed body.
 */
import type { RequestListener } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';

export function bareUploadHandler(store: (part: Readable) => Promise<string>): RequestListener {
  return (req, res) => {
    const parser = busboy({ headers: req.headers });
    const stored: Promise<string>[] = [];
    parser.on('file', (_name, stream) => {
      const done = store(stream);
      done.catch(() => undefined); // reported through Promise.all below
      stored.push(done);
    });
    parser.on('close', () => {
      Promise.all(stored).then(
        (names) =>
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ stored: names })),
        () => res.writeHead(500).end(),
      );
    });
    parser.on('error', () => res.writeHead(400).end());
    req.pipe(parser);
  };
}
