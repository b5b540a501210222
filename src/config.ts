/**
 * The only module that reads `process.env`. Every setting is parsed, checked
 * and frozen here; a bad value stops start-up with a message naming the
 * variable, so a typo never turns into a surprising default at run time.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';

export type ResponseValidation = 'enforce' | 'log' | 'off';
export type NodeEnv = 'development' | 'production' | 'test';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly host: string;
  readonly port: number;
  /** Real PostgreSQL when set; embedded PGlite under `dataDir` otherwise. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly dbPoolMax: number;
  readonly migrateOnStart: boolean;
  readonly responseValidation: ResponseValidation;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Allowed CORS origins; empty means CORS headers are never sent. `*` allows any. */
  readonly corsOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  readonly jwtSecret: string;
  /** True when JWT_SECRET was not given and a random one was made for this process. */
  readonly jwtSecretGenerated: boolean;
  /** Keys accepted by the `ApiKey` security scheme (`/protected`). */
  readonly apiKeys: readonly string[];
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  readonly jwtTtlSeconds: number;
  /** argon2id cost; OWASP's minimum by default (19 MiB, 2 passes, 1 lane). */
  readonly argon2: {
    readonly memoryKiB: number;
    readonly timeCost: number;
    readonly parallelism: number;
    /** Hashes computed at once; more wait their turn, so a login storm leaves a core to the event loop. */
    readonly maxConcurrency: number;
  };
  readonly loginThrottle: {
    readonly maxFailuresPerAccount: number;
    readonly maxFailuresPerAddress: number;
    readonly windowSeconds: number;
  };
  /** An existing account with this email is made an admin at start-up. */
  readonly adminEmail: string | undefined;
  /** Trust X-Forwarded-For from this many proxy hops in front of the server (0: none). */
  readonly trustProxyHops: number;
  /** How long an Idempotency-Key and its stored response are kept. */
  readonly idempotencyTtlSeconds: number;
  readonly shutdownTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** WebSocket limits (`src/realtime/`). */
  readonly realtime: {
    /** Largest frame accepted; a larger one closes the connection with 1009. */
    readonly maxPayloadBytes: number;
    /** How often each client is pinged; a client that missed the previous pong is dropped. */
    readonly heartbeatIntervalMs: number;
    /** Bytes queued for one client before it is closed with 1013 as a slow consumer. */
    readonly maxBufferedBytes: number;
    /** Frames a connection may send per second on average, and in a burst. */
    readonly messagesPerSecond: number;
    readonly messageBurst: number;
    /** Open WebSocket connections per user on one server process. */
    readonly maxConnectionsPerUser: number;
    /** Chat messages said within this window are stored by one INSERT and sent in one write per member. */
    readonly batchWindowMs: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function str(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${env[name] ?? ''}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const found = allowed.find((value) => value === raw);
  if (found === undefined) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return found;
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/**
 * Reads the configuration from an environment (normally `process.env`).
 * @example const config = loadConfig(process.env);
 */
export function loadConfig(env: Env): Config {
  const nodeEnv = oneOf<NodeEnv>(env, 'NODE_ENV', ['development', 'production', 'test'], 'development');

  const databaseUrl = optional(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }

  const givenSecret = optional(env, 'JWT_SECRET');
  if (givenSecret === undefined && nodeEnv === 'production') {
    throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production');
  }
  if (givenSecret !== undefined && givenSecret.length < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 characters');
  }

  const corsOrigins = list(env, 'CORS_ORIGINS');
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `has "${origin}", which is not * or an origin like https://example.com`,
      );
    }
  }

  const config: Config = {
    nodeEnv,
    host: str(env, 'HOST', '0.0.0.0'),
    port: int(env, 'PORT', 8000, 0, 65535),
    databaseUrl,
    dataDir: str(env, 'DATA_DIR', './data'),
    dbPoolMax: int(env, 'DB_POOL_MAX', 10, 1, 1000),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', true),
    responseValidation: oneOf<ResponseValidation>(
      env,
      'RESPONSE_VALIDATION',
      ['enforce', 'log', 'off'],
      'enforce',
    ),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    corsOrigins,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1, 1024 * 1024 * 1024),
    jwtSecret: givenSecret ?? randomBytes(48).toString('base64url'),
    jwtSecretGenerated: givenSecret === undefined,
    apiKeys: list(env, 'API_KEYS'),
    jwtIssuer: str(env, 'JWT_ISSUER', 'fastapi-guide-ts'),
    jwtAudience: str(env, 'JWT_AUDIENCE', 'fastapi-guide-ts-api'),
    jwtTtlSeconds: int(env, 'JWT_TTL_SECONDS', 30 * 60, 60, 7 * 24 * 3600),
    argon2: {
      memoryKiB: int(env, 'ARGON2_MEMORY_KIB', 19 * 1024, 1024, 4 * 1024 * 1024),
      timeCost: int(env, 'ARGON2_TIME_COST', 2, 1, 100),
      parallelism: int(env, 'ARGON2_PARALLELISM', 1, 1, 16),
      maxConcurrency: int(env, 'ARGON2_MAX_CONCURRENCY', Math.max(1, availableParallelism() - 1), 1, 64),
    },
    loginThrottle: {
      maxFailuresPerAccount: int(env, 'LOGIN_MAX_FAILURES_PER_ACCOUNT', 5, 1, 1000),
      maxFailuresPerAddress: int(env, 'LOGIN_MAX_FAILURES_PER_ADDRESS', 20, 1, 100_000),
      windowSeconds: int(env, 'LOGIN_FAILURE_WINDOW_SECONDS', 15 * 60, 1, 24 * 3600),
    },
    adminEmail: optional(env, 'ADMIN_EMAIL')?.toLowerCase(),
    trustProxyHops: int(env, 'TRUST_PROXY_HOPS', 0, 0, 10),
    idempotencyTtlSeconds: int(env, 'IDEMPOTENCY_TTL_SECONDS', 24 * 3600, 1, 30 * 24 * 3600),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 0, 3_600_000),
    headersTimeoutMs: int(env, 'HEADERS_TIMEOUT_MS', 10_000, 0, 600_000),
    keepAliveTimeoutMs: int(env, 'KEEP_ALIVE_TIMEOUT_MS', 65_000, 0, 600_000),
    realtime: {
      maxPayloadBytes: int(env, 'WS_MAX_PAYLOAD_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
      heartbeatIntervalMs: int(env, 'WS_HEARTBEAT_INTERVAL_MS', 30_000, 50, 3_600_000),
      maxBufferedBytes: int(env, 'WS_MAX_BUFFERED_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
      messagesPerSecond: int(env, 'WS_MESSAGES_PER_SECOND', 10, 1, 100_000),
      messageBurst: int(env, 'WS_MESSAGE_BURST', 20, 1, 100_000),
      maxConnectionsPerUser: int(env, 'WS_MAX_CONNECTIONS_PER_USER', 10, 1, 100_000),
      batchWindowMs: int(env, 'WS_BATCH_WINDOW_MS', 10, 0, 1000),
    },
  };
  return Object.freeze(config);
}
