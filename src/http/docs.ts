/**
 * The served contract and its documentation: `/openapi.json`, `/openapi.yaml`,
 * Swagger UI at `/docs` and Redoc at `/redoc`, all from local files (no CDN),
 * and the problem-type catalogue at `/problems`, where every problem's `type`
 * URI resolves.
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

interface CatalogueEntry {
  readonly const?: unknown;
  readonly title?: unknown;
  readonly description?: unknown;
  readonly 'x-status'?: unknown;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The little Markdown the catalogue's descriptions use: `code`. */
const inline = (text: string): string => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

/** The problem types the contract declares (components.schemas.ProblemType), as HTML sections by slug. */
function catalogueSections(document: OpenApiDocument): Map<string, string> {
  const schemas = (document.components?.['schemas'] ?? {}) as Record<string, { oneOf?: CatalogueEntry[] }>;
  const sections = new Map<string, string>();
  for (const entry of schemas['ProblemType']?.oneOf ?? []) {
    if (typeof entry.const !== 'string' || !entry.const.startsWith('/problems/')) continue;
    const slug = entry.const.slice('/problems/'.length);
    sections.set(
      slug,
      `<section id="${escapeHtml(slug)}">
<h2><code>${escapeHtml(entry.const)}</code></h2>
<p>${escapeHtml(String(entry['x-status']))} ${escapeHtml(String(entry.title))}</p>
<p>${inline(typeof entry.description === 'string' ? entry.description : '')}</p>
</section>`,
    );
  }
  return sections;
}

/** GET routes for the contract, the two documentation pages and the problem catalogue. */
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
  const sections = catalogueSections(document);
  if (sections.size > 0) {
    const intro = '<p>Every problem this API sends has one of these as its <code>type</code>.</p>';
    const all = page(
      'Problem types',
      '',
      `<h1>Problem types</h1>\n${intro}\n${[...sections.values()].join('\n')}`,
    );
    router.get('/problems', (_req, res) => {
      res.type('html').send(all);
    });
    router.get('/problems/:slug', (req, res, next) => {
      const section = sections.get(req.params.slug);
      if (section === undefined) {
        next();
        return;
      }
      res
        .type('html')
        .send(
          page(
            `Problem type ${req.params.slug}`,
            '',
            `${section}\n<p><a href="/problems">All problem types</a></p>`,
          ),
        );
    });
  }
  return router;
}
