import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has working defaults for development', () => {
    const config = loadConfig({});
    expect(config).to.include({
      nodeEnv: 'development',
      port: 8000,
      dataDir: './data',
      databaseUrl: undefined,
      migrateOnStart: true,
      responseValidation: 'enforce',
      jwtSecretGenerated: true,
    });
    expect(config.jwtSecret).to.have.length.greaterThan(32);
    expect(Object.isFrozen(config)).to.be.true;
  });

  const rejects: [Record<string, string>, string][] = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ RESPONSE_VALIDATION: 'sometimes' }, 'RESPONSE_VALIDATION'],
    [{ MIGRATE_ON_START: 'maybe' }, 'MIGRATE_ON_START'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
    [{ CORS_ORIGINS: 'example.com' }, 'CORS_ORIGINS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ LOG_BUFFER_BYTES: '20000' }, 'LOG_BUFFER_BYTES'],
    [{ LOG_FLUSH_MS: '0' }, 'LOG_FLUSH_MS'],
    [{ BODY_LIMIT_BYTES: '0' }, 'BODY_LIMIT_BYTES'],
    [{ WORKERS: '2' }, 'WORKERS'],
    [{ METRICS_ACCESS: 'public' }, 'METRICS_ACCESS'],
    [{ IF_MATCH_REQUIRED: 'items,orders' }, 'IF_MATCH_REQUIRED'],
    [{ SUNSET_ENFORCE: 'soon' }, 'SUNSET_ENFORCE'],
  ];
  for (const [env, variable] of rejects) {
    it(`stops with a message naming ${variable} for ${JSON.stringify(env)}`, () => {
      expect(() => loadConfig(env))
        .to.throw(ConfigError)
        .with.property('message')
        .that.includes(variable);
    });
  }

  it('takes JWT_SECRET as given in production', () => {
    const secret = 's'.repeat(40);
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: secret });
    expect(config).to.include({ jwtSecret: secret, jwtSecretGenerated: false });
  });

  it('splits list settings and trims them', () => {
    const config = loadConfig({
      API_KEYS: ' a, b ,,c',
      CORS_ORIGINS: 'https://a.example, http://localhost:3000',
    });
    expect(config.apiKeys).to.deep.equal(['a', 'b', 'c']);
    expect(config.corsOrigins).to.deep.equal(['https://a.example', 'http://localhost:3000']);
  });

  it('requires If-Match for no resource unless IF_MATCH_REQUIRED names them', () => {
    expect([...loadConfig({}).ifMatchRequired]).to.deep.equal([]);
    expect([...loadConfig({ IF_MATCH_REQUIRED: ' users ' }).ifMatchRequired]).to.deep.equal(['users']);
  });
});
