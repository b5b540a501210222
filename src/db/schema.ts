/**
 * The Kysely view of the database: one interface per table, column names as
 * in SQL. Read types follow the pg type parsers in database.ts: int8 → number,
 * numeric → string, timestamptz → Date.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

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
}

export interface LoginFailureTable {
  key: string;
  failures: number;
  window_started_at: Timestamp;
  locked_until: Date | null;
}

export interface Database {
  users: UserTable;
  login_failures: LoginFailureTable;
}

export type UserRow = Selectable<UserTable>;
export type NewUserRow = Insertable<UserTable>;
export type UserRowUpdate = Updateable<UserTable>;
