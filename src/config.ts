/**
 * The only module that reads `process.env`. Every setting is parsed, checked
 * and frozen here; a bad value stops start-up with a message naming the
 * variable, so a typo never turns into a surprising default at run time.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';

export type ResponseValidation = 'enforce' | 'log' | 'off';
/** Who may read `/metrics`: nobody, anyone, or callers with a key from API_KEYS. */
export type MetricsAccess = 'off' | 'open' | 'apikey';
export type NodeEnv = 'development' | 'production' | 'test';
/** Resources whose PATCH and DELETE may be made to require `If-Match` (428 without it). */
export const CONDITIONAL_RESOURCES = ['items', 'users'] as const;
export type ConditionalResource = (typeof CONDITIONAL_RESOURCES)[number];

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly host: string;
  readonly port: number;
  /** Real PostgreSQL when set; embedded PGlite under `dataDir` otherwise. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /**
   * Where embedded PGlite runs: a worker thread serving a Unix socket in
   * `dataDir` (default), or the main thread (its work then blocks the event loop).
   */
  readonly pgliteThread: 'worker' | 'main';
  readonly dbPoolMax: number;
  readonly migrateOnStart: boolean;
  readonly responseValidation: ResponseValidation;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Log lines are gathered up to this many bytes before one write (0: each line at once);
   * at most `logFlushMs` later they are written anyway, and always before the process exits.
   */
  readonly logBufferBytes: number;
  readonly logFlushMs: number;
  /** Allowed CORS origins; empty means CORS headers are never sent. `*` allows any. */
  readonly corsOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  /** How deep a JSON body may nest and how many values it may hold; more is a 400 before it is parsed. */
  readonly jsonShape: { readonly maxDepth: number; readonly maxValues: number };
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
  /**
   * Multiplies every rate-limit policy's limit from the contract (x-rate-limit-policies);
   * 0 turns rate limiting off. For staging and load tests, never production.
   */
  readonly rateLimitFactor: number;
  /** Redis for the shared rate-limit counters; unset: PostgreSQL (or memory on the embedded database). */
  readonly redisUrl: string | undefined;
  /** An existing account with this email is made an admin at start-up. */
  readonly adminEmail: string | undefined;
  /** Trust X-Forwarded-For from this many proxy hops in front of the server (0: none). */
  readonly trustProxyHops: number;
  /** How long an Idempotency-Key and its stored response are kept. */
  readonly idempotencyTtlSeconds: number;
  /** Operations past their contract `x-sunset` answer 410 Gone (off: they keep working, with a Sunset header). */
  readonly sunsetEnforce: boolean;
  /** Resources whose PATCH and DELETE answer 428 without `If-Match` (none by default). */
  readonly ifMatchRequired: ReadonlySet<ConditionalResource>;
  /**
   * After SIGTERM, how long the server keeps accepting and serving as usual with
   * readiness 503, so load balancers move away, before it stops accepting; 0: stop at once.
   */
  readonly shutdownGraceMs: number;
  /** After the grace period, how long in-flight requests may take before the rest are cut. */
  readonly shutdownTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Server processes sharing the port (node cluster); more than one needs DATABASE_URL. */
  readonly workers: number;
  readonly metricsAccess: MetricsAccess;
  /** Longest a single SQL statement may run on PostgreSQL (0: no limit). */
  readonly dbStatementTimeoutMs: number;
  /** Longest a handler may take before the client gets a 503 (0: no limit); uploads are exempt. */
  readonly handlerTimeoutMs: number;
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
    /** Rooms with this many members or more (on one process) get joins and leaves summed up once a second. */
    readonly presenceRoomLimit: number;
  };
  /** Background jobs (src/jobs): the durable queue's workers in this process. */
  readonly jobs: {
    /** Run workers in this process; false only enqueues (another process works the queue). */
    readonly enabled: boolean;
    /** Jobs one process runs at once. */
    readonly concurrency: number;
    /** How long an idle worker waits before looking for due jobs again. */
    readonly pollIntervalMs: number;
    /** A claimed job not finished within this time is taken to be lost (its process died) and retried. */
    readonly leaseMs: number;
    /** Tries before a job is kept as failed with its last error. */
    readonly maxAttempts: number;
    /** Retry delay: base × 2^(attempt-1), capped at max, with jitter. */
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    /** How long shutdown waits for running jobs before leaving them to their lease. */
    readonly shutdownTimeoutMs: number;
    /** Succeeded jobs are deleted after this many hours (failed ones are kept). */
    readonly keepSucceededHours: number;
  };
  /** Outgoing mail: SMTP when smtpUrl is set, the log otherwise. */
  readonly mail: {
    readonly smtpUrl: string | undefined;
    readonly from: string;
  };
  /** The outbound fetch of POST /fetch-multiple and its SSRF guard (src/fetch). */
  readonly fetch: {
    /** Host names that may be fetched (exact, or `*.example.com`); empty means none. */
    readonly allowedHosts: readonly string[];
    /** Address ranges (CIDR) allowed although they are private, loopback, link-local… */
    readonly allowedCidrs: readonly string[];
    /** URLs fetched at once per request. */
    readonly concurrency: number;
    /** Largest response body read, in bytes; more is an error for that URL. */
    readonly maxBytes: number;
    /** Deepest nesting of arrays and objects accepted in a JSON body; deeper is an error for that URL. */
    readonly maxJsonDepth: number;
    /**
     * The whole request's budget: URLs still queued or running then are answered as timeouts,
     * so the reply always beats HANDLER_TIMEOUT_MS (0: no budget, when there is no handler timeout).
     */
    readonly batchDeadlineMs: number;
  };
  /** Uploads: where the bytes go and the multipart limits (the contract may lower them per operation). */
  readonly files: FilesConfig;
}

export type FileStorageKind = 'local' | 'database';

export interface FilesConfig {
  /** `local`: files under `dir`; `database`: chunked bytea in the database every instance shares. */
  readonly storage: FileStorageKind;
  /** The local driver's directory. */
  readonly dir: string;
  readonly maxFileBytes: number;
  readonly maxFiles: number;
  readonly maxFields: number;
  readonly maxFieldBytes: number;
  readonly maxParts: number;
  readonly maxHeaderPairs: number;
  /** Stored bytes no row references are removed at start-up once they are this old. */
  readonly sweepAfterSeconds: number;
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

/** A non-negative decimal number such as `1`, `0.5` or `100`. */
function decimal(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw.trim()))
    throw new ConfigError(name, `must be a number like 1 or 0.5, got "${raw}"`);
  const value = Number(raw.trim());
  if (value > max) throw new ConfigError(name, `must be at most ${max}, got ${value}`);
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

function smtpUrl(env: Env): string | undefined {
  const value = optional(env, 'SMTP_URL');
  if (value !== undefined && !/^smtps?:\/\/[^/\s]+/.test(value)) {
    throw new ConfigError('SMTP_URL', 'must look like smtp://user:pass@host:587 or smtps://host:465');
  }
  return value;
}

function redisUrl(env: Env): string | undefined {
  const value = optional(env, 'REDIS_URL');
  if (value !== undefined && !/^rediss?:\/\/[^\s]+$/.test(value)) {
    throw new ConfigError('REDIS_URL', 'must look like redis://host:6379 or rediss://user:pass@host:6380/0');
  }
  return value;
}

/** A comma-separated list of CIDR ranges (`127.0.0.0/8`, `::1/128`). */
function cidrs(env: Env, name: string): string[] {
  const entries = list(env, name);
  for (const entry of entries) {
    const [address = '', bits = ''] = entry.split('/');
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > max) {
      throw new ConfigError(name, `has "${entry}", which is not a CIDR range like 10.0.0.0/8 or fd00::/8`);
    }
  }
  return entries;
}

/** A comma-separated subset of `allowed`. */
function subset<T extends string>(env: Env, name: string, allowed: readonly T[]): Set<T> {
  const chosen = new Set<T>();
  for (const entry of list(env, name)) {
    const found = allowed.find((value) => value === entry);
    if (found === undefined) {
      throw new ConfigError(name, `has "${entry}"; allowed: ${allowed.join(', ')}`);
    }
    chosen.add(found);
  }
  return chosen;
}

/**
 * POST /fetch-multiple's own budget: the handler timeout less a margin (a quarter, at most 2 s)
 * for answering, so the caller gets per-URL timeouts in a 200 rather than a 503.
 */
function fetchBatchDeadline(handlerTimeoutMs: number): number {
  if (handlerTimeoutMs === 0) return 0;
  return Math.max(1, handlerTimeoutMs - Math.min(2000, Math.floor(handlerTimeoutMs / 4)));
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

  const workers = int(env, 'WORKERS', 1, 1, 64);
  if (workers > 1 && databaseUrl === undefined) {
    throw new ConfigError(
      'WORKERS',
      `is ${workers}, but the embedded database (PGlite) lives inside one process and cannot be shared: ` +
        'set DATABASE_URL to a PostgreSQL server to run more than one worker',
    );
  }

  const dataDir = str(env, 'DATA_DIR', './data');
  const handlerTimeoutMs = int(env, 'HANDLER_TIMEOUT_MS', 20_000, 0, 3_600_000);
  const config: Config = {
    nodeEnv,
    host: str(env, 'HOST', '0.0.0.0'),
    port: int(env, 'PORT', 8000, 0, 65535),
    databaseUrl,
    dataDir,
    pgliteThread: oneOf(env, 'PGLITE_THREAD', ['worker', 'main'], 'worker'),
    dbPoolMax: int(env, 'DB_POOL_MAX', 10, 1, 1000),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', true),
    responseValidation: oneOf<ResponseValidation>(
      env,
      'RESPONSE_VALIDATION',
      ['enforce', 'log', 'off'],
      'enforce',
    ),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    logBufferBytes: int(env, 'LOG_BUFFER_BYTES', 4096, 0, 16_000),
    logFlushMs: int(env, 'LOG_FLUSH_MS', 100, 1, 60_000),
    corsOrigins,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1, 1024 * 1024 * 1024),
    jsonShape: {
      maxDepth: int(env, 'JSON_MAX_DEPTH', 32, 2, 1000),
      maxValues: int(env, 'JSON_MAX_VALUES', 10_000, 10, 10_000_000),
    },
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
    rateLimitFactor: decimal(env, 'RATE_LIMIT_FACTOR', 1, 1_000_000),
    redisUrl: redisUrl(env),
    adminEmail: optional(env, 'ADMIN_EMAIL')?.toLowerCase(),
    trustProxyHops: int(env, 'TRUST_PROXY_HOPS', 0, 0, 10),
    idempotencyTtlSeconds: int(env, 'IDEMPOTENCY_TTL_SECONDS', 24 * 3600, 1, 30 * 24 * 3600),
    ifMatchRequired: subset(env, 'IF_MATCH_REQUIRED', CONDITIONAL_RESOURCES),
    sunsetEnforce: bool(env, 'SUNSET_ENFORCE', false),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 1500, 0, 600_000),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 0, 3_600_000),
    headersTimeoutMs: int(env, 'HEADERS_TIMEOUT_MS', 10_000, 0, 600_000),
    keepAliveTimeoutMs: int(env, 'KEEP_ALIVE_TIMEOUT_MS', 65_000, 0, 600_000),
    workers,
    metricsAccess: oneOf<MetricsAccess>(
      env,
      'METRICS_ACCESS',
      ['off', 'open', 'apikey'],
      nodeEnv === 'production' ? 'apikey' : 'open',
    ),
    dbStatementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 15_000, 0, 3_600_000),
    handlerTimeoutMs,
    realtime: {
      maxPayloadBytes: int(env, 'WS_MAX_PAYLOAD_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
      heartbeatIntervalMs: int(env, 'WS_HEARTBEAT_INTERVAL_MS', 30_000, 50, 3_600_000),
      maxBufferedBytes: int(env, 'WS_MAX_BUFFERED_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
      messagesPerSecond: int(env, 'WS_MESSAGES_PER_SECOND', 10, 1, 100_000),
      messageBurst: int(env, 'WS_MESSAGE_BURST', 20, 1, 100_000),
      maxConnectionsPerUser: int(env, 'WS_MAX_CONNECTIONS_PER_USER', 10, 1, 100_000),
      batchWindowMs: int(env, 'WS_BATCH_WINDOW_MS', 10, 0, 1000),
      presenceRoomLimit: int(env, 'WS_PRESENCE_ROOM_LIMIT', 100, 1, 1_000_000),
    },
    jobs: {
      enabled: bool(env, 'JOBS_ENABLED', true),
      concurrency: int(env, 'JOBS_CONCURRENCY', 4, 1, 100),
      pollIntervalMs: int(env, 'JOBS_POLL_INTERVAL_MS', 1000, 10, 3_600_000),
      leaseMs: int(env, 'JOBS_LEASE_MS', 5 * 60_000, 100, 24 * 3_600_000),
      maxAttempts: int(env, 'JOBS_MAX_ATTEMPTS', 8, 1, 1000),
      backoffBaseMs: int(env, 'JOBS_BACKOFF_BASE_MS', 1000, 0, 3_600_000),
      backoffMaxMs: int(env, 'JOBS_BACKOFF_MAX_MS', 15 * 60_000, 0, 24 * 3_600_000),
      shutdownTimeoutMs: int(env, 'JOBS_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
      keepSucceededHours: int(env, 'JOBS_KEEP_SUCCEEDED_HOURS', 7 * 24, 0, 100_000),
    },
    mail: {
      smtpUrl: smtpUrl(env),
      from: str(env, 'MAIL_FROM', 'FastAPI Guide <no-reply@example.com>'),
    },
    fetch: {
      allowedHosts: list(env, 'FETCH_ALLOWED_HOSTS').map((host) => host.toLowerCase()),
      allowedCidrs: cidrs(env, 'FETCH_ALLOWED_CIDRS'),
      concurrency: int(env, 'FETCH_CONCURRENCY', 5, 1, 10),
      maxBytes: int(env, 'FETCH_MAX_BYTES', 1024 * 1024, 1, 100 * 1024 * 1024),
      // JSON.stringify recurses: a few thousand levels overflow the stack, so the cap stays far below.
      maxJsonDepth: int(env, 'FETCH_MAX_JSON_DEPTH', 64, 1, 1000),
      batchDeadlineMs: fetchBatchDeadline(handlerTimeoutMs),
    },
    files: {
      storage: oneOf<FileStorageKind>(env, 'FILE_STORAGE', ['local', 'database'], 'local'),
      // An in-memory database has no directory of its own: its files go under the OS temp dir.
      dir: str(
        env,
        'FILES_DIR',
        dataDir.startsWith('memory://')
          ? path.join(tmpdir(), 'fastapi-guide-ts-files')
          : path.join(dataDir, 'files'),
      ),
      maxFileBytes: int(env, 'UPLOAD_MAX_FILE_BYTES', 100 * 1024 * 1024, 1, 2 ** 40),
      maxFiles: int(env, 'UPLOAD_MAX_FILES', 10, 1, 1000),
      maxFields: int(env, 'UPLOAD_MAX_FIELDS', 20, 0, 1000),
      maxFieldBytes: int(env, 'UPLOAD_MAX_FIELD_BYTES', 64 * 1024, 1, 16 * 1024 * 1024),
      maxParts: int(env, 'UPLOAD_MAX_PARTS', 50, 1, 10_000),
      maxHeaderPairs: int(env, 'UPLOAD_MAX_HEADER_PAIRS', 20, 1, 2000),
      sweepAfterSeconds: int(env, 'FILES_SWEEP_AFTER_SECONDS', 3600, 60, 30 * 24 * 3600),
    },
  };
  return Object.freeze(config);
}
