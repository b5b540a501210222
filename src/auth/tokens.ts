/**
 * Access tokens: HS256 JWTs with `sub` (user id), `iat`, `exp`, `iss` and `aud`.
 * Verification pins the algorithm and checks issuer, audience, expiry and
 * not-before, so `alg: none`, another algorithm or a foreign token is refused.
 */
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config } from '../config.js';
import { ApiError } from '../contract/errors.js';

const ALGORITHM = 'HS256';

export interface TokenService {
  issue(userId: number): { token: string; expiresIn: number };
  /**
   * The user id and expiry (ms since the epoch) of a valid token; throws a 401
   * ApiError with an RFC 6750 challenge otherwise.
   */
  verify(token: string): { userId: number; expiresAt: number };
}

/** 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1). */
export function invalidToken(detail: string): ApiError {
  return new ApiError('unauthorized', detail, {
    headers: {
      'WWW-Authenticate': `Bearer error="invalid_token", error_description="${detail.replace(/"/g, "'")}"`,
    },
  });
}

export function createTokenService(
  config: Pick<Config, 'jwtSecret' | 'jwtIssuer' | 'jwtAudience' | 'jwtTtlSeconds'>,
): TokenService {
  // A KeyObject, made once: given a string, jsonwebtoken 9 first tries createPublicKey() on it
  // on every call and falls back after the throw (~390 us a call here, against ~7 us).
  const key = createSecretKey(Buffer.from(config.jwtSecret, 'utf8'));
  return {
    issue(userId) {
      const token = jwt.sign({}, key, {
        algorithm: ALGORITHM,
        subject: String(userId),
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
        expiresIn: config.jwtTtlSeconds,
      });
      return { token, expiresIn: config.jwtTtlSeconds };
    },
    verify(token) {
      let payload: jwt.JwtPayload | string;
      try {
        payload = jwt.verify(token, key, {
          algorithms: [ALGORITHM],
          issuer: config.jwtIssuer,
          audience: config.jwtAudience,
          clockTolerance: 5,
        });
      } catch (error) {
        const name = (error as { name?: unknown }).name;
        throw invalidToken(
          name === 'TokenExpiredError' ? 'The token has expired.' : 'The token is not valid.',
        );
      }
      const sub = typeof payload === 'string' ? undefined : payload.sub;
      if (
        sub === undefined ||
        !/^[1-9]\d{0,15}$/.test(sub) ||
        typeof payload !== 'object' ||
        payload.exp === undefined
      ) {
        throw invalidToken('The token is not valid.');
      }
      return { userId: Number(sub), expiresAt: payload.exp * 1000 };
    },
  };
}
