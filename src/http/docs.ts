/**
 * The served contract and its documentation: `/openapi.json`, `/openapi.yaml`,
 * Swagger UI at `/docs` and Redoc at `/redoc`, all from local files (no CDN).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import express from 'express';
import type { Router } from 'express';
import type { OpenApiDocument } from '../contract/spec.js';

const require = createRequire(import.meta.url);
const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const redocBundle = path.join(
  path.dirname(require.resolve('redoc/package.json')),
  'bundles/redoc.standalone.js',
);

const page = (title: string, head: string, body: string): string =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${head}
</head>
<body>
${body}
</body>
</html>
`;

const swaggerPage = page(
  'API docs (Swagger UI)',
  '<link rel="stylesheet" href="/docs/assets/swagger-ui.css">',
  `<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>`,
);

const swaggerInit = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
`;

const redocPage = page(
  'API reference (Redoc)',
  '<style>body { margin: 0; }</style>',
  `<div id="redoc"></div>
<script src="/redoc/redoc.standalone.js"></script>
<script src="/redoc/init.js"></script>`,
);

const redocInit = `Redoc.init('/openapi.json', { hideDownloadButton: false }, document.getElementById('redoc'));\n`;

/** GET routes for the contract and the two documentation pages. */
export function docsRouter(document: OpenApiDocument): Router {
  const router = express.Router();
  const json = JSON.stringify(document);
  let yaml: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(json);
  });
  router.get('/openapi.yaml', (_req, res, next) => {
    // The YAML library is loaded on first use, not at start-up.
    import('yaml').then(({ stringify }) => {
      yaml ??= stringify(document, { aliasDuplicateObjects: false });
      res.type('application/yaml').send(yaml);
    }, next);
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(swaggerPage);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(swaggerInit);
  });
  router.use('/docs/assets', express.static(swaggerDir, { index: false, maxAge: '1d' }));
  router.get('/redoc', (_req, res) => {
    res.type('html').send(redocPage);
  });
  router.get('/redoc/init.js', (_req, res) => {
    res.type('application/javascript').send(redocInit);
  });
  router.get('/redoc/redoc.standalone.js', (_req, res) => {
    res.sendFile(redocBundle, { maxAge: '1d' });
  });
  return router;
}
