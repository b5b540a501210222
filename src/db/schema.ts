/**
 * The Kysely view of the database: one interface per table, column names as
 * in SQL. Read types follow the pg type parsers in database.ts: int8 → number,
 * numeric → string, timestamptz → Date.
 */
import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';

/** timestamptz with a database default: read as Date, optional on insert. */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type UserRole = 'admin' | 'user' | 'guest';

export interface UserTable {
  /** bigint identity; parsed to number (ids stay far below 2^53). */
  id: Generated<number>;
  /** Unique case-insensitively (index on lower(email)). */
  email: string;
  full_name: string;
  /** Null for users who came through /register, which asks no age. */
  age: number | null;
  /** Unique case-insensitively when set. */
  username: string | null;
  phone: string | null;
  password_hash: string;
  role: ColumnType<UserRole, UserRole | undefined, UserRole>;
  is_active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Raised by every change to the account; its ETag. */
  version: Generated<number>;
}

export interface LoginFailureTable {
  key: string;
  failures: number;
  window_started_at: Timestamp;
  locked_until: Date | null;
}

/** numeric columns: read as exact decimal strings ("59.90"), written as strings or numbers. */
export type Numeric = ColumnType<string, string | number, string | number>;

export interface ItemTable {
  id: Generated<number>;
  owner_id: number;
  name: string;
  description: string | null;
  price: Numeric;
  tax: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Raised by every change to the item; its ETag. */
  version: Generated<number>;
  /** `lower(name) || E'\n' || lower(description)`, kept by the database, for the search; never written. */
  search: ColumnType<string, never, never>;
}

export interface OrderTable {
  id: Generated<number>;
  user_id: number;
  shipping_address: string;
  total: Numeric;
  created_at: Timestamp;
}

export interface OrderLineTable {
  order_id: number;
  line_no: number;
  item_id: number | null;
  name: string;
  unit_price: Numeric;
  tax: string | null;
  quantity: number;
  line_total: Numeric;
}

export interface IdempotencyKeyTable {
  user_id: number;
  key: string;
  request_hash: string;
  status: number | null;
  response: ColumnType<unknown, string | null, string | null>;
  created_at: Timestamp;
  expires_at: Timestamp;
}

/** A chat message; `room` is a name, not a foreign key (rooms have no rows). */
export interface ChatMessageTable {
  id: Generated<number>;
  room: string;
  user_id: number;
  text: string;
  sent_at: Timestamp;
}

/** An open WebSocket connection, counted by the per-user cap across processes (src/realtime/sessions.ts). */
export interface WsSessionTable {
  id: string;
  user_id: number;
  /** The server process holding the socket (its bus origin). */
  instance: string;
  opened_at: Timestamp;
  seen_at: Timestamp;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** jsonb: written as a JSON string (pg would send a JS array as a Postgres array), read parsed. */
export type Jsonb<T> = ColumnType<T, string, string>;

/** The durable job queue (src/jobs). */
export interface JobTable {
  id: Generated<number>;
  kind: string;
  payload: ColumnType<Record<string, unknown>, string | undefined, string>;
  status: ColumnType<JobStatus, JobStatus | undefined, JobStatus>;
  key: string | null;
  attempts: Generated<number>;
  max_attempts: number | null;
  /** Due time of a queued job; end of the lease of a running one. */
  run_at: Timestamp;
  locked_by: string | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: Date | null;
}

/** The activity log, written by background jobs. */
export interface ActivityTable {
  id: Generated<number>;
  user_id: number;
  kind: string;
  details: Jsonb<Record<string, unknown>>;
  occurred_at: ColumnType<Date, Date | string, Date | string>;
  job_id: number;
}

/** Emails already sent, by a key naming what was sent to whom. */
export interface SentEmailTable {
  key: string;
  recipient: string;
  job_id: number | null;
  sent_at: Timestamp;
}

/** An uploaded file's metadata; its bytes live in the storage driver under `storage_key`. */
export interface FileTable {
  id: Generated<number>;
  owner_id: number;
  /** Chosen by the server (random hex); never derived from client input. */
  storage_key: string;
  filename: string;
  /** Sniffed from the first bytes, or the declared type when the bytes have no signature. */
  content_type: string;
  declared_content_type: string;
  size: number;
  sha256: string;
  description: string | null;
  created_at: Timestamp;
}

/** One chunk of a file stored by the database driver. */
export interface FileChunkTable {
  storage_key: string;
  seq: number;
  data: Buffer;
  created_at: Timestamp;
}

/** Rate-limit counters (rate-limiter-flexible's PostgreSQL layout). */
export interface RateLimitTable {
  key: string;
  points: number;
  /** End of the counter's window, ms since the epoch (int8: read back as a string). */
  expire: string | number | null;
}

export interface Database {
  users: UserTable;
  login_failures: LoginFailureTable;
  items: ItemTable;
  orders: OrderTable;
  order_lines: OrderLineTable;
  idempotency_keys: IdempotencyKeyTable;
  chat_messages: ChatMessageTable;
  jobs: JobTable;
  activity: ActivityTable;
  sent_emails: SentEmailTable;
  files: FileTable;
  file_chunks: FileChunkTable;
  ws_sessions: WsSessionTable;
  rate_limits: RateLimitTable;
}

export type ItemRow = Selectable<ItemTable>;
export type OrderRow = Selectable<OrderTable>;
export type OrderLineRow = Selectable<OrderLineTable>;

export type UserRow = Selectable<UserTable>;
export type NewUserRow = Insertable<UserTable>;
export type UserRowUpdate = Updateable<UserTable>;
export type ChatMessageRow = Selectable<ChatMessageTable>;

export type JobRow = Selectable<JobTable>;
export type ActivityRow = Selectable<ActivityTable>;

export type FileRow = Selectable<FileTable>;
export type NewFileRow = Insertable<FileTable>;

/** The app's database (`deps.db`): runs queries and starts transactions. */
export type AppDb = Kysely<Database>;
/** A transaction started on it. */
export type Trx = Transaction<Database>;
/** What a repo function takes: the database or a transaction, so calls compose. */
export type Db = AppDb | Trx;
