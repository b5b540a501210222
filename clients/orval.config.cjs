// orval (fetch client) writes the base URL into every generated function, so it is chosen here,
// from the contract's second server ('{scheme}://{host}:{port}'); clients:check sets the host and port.
const path = require('node:path');

module.exports = {
  api: {
    input: { target: path.join(__dirname, '../generated/openapi.json') },
    output: {
      target: path.join(__dirname, 'out/orval/api.ts'),
      client: 'fetch',
      mode: 'single',
      // Header parameters (Idempotency-Key, If-Match, ...) become typed arguments.
      headers: true,
      baseUrl: {
        getBaseUrlFromSpecification: true,
        index: 1,
        variables: {
          host: process.env.CLIENTS_HOST ?? 'localhost',
          port: process.env.CLIENTS_PORT ?? '8000',
        },
      },
    },
  },
};
