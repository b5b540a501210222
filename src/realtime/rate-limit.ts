/** A token bucket per connection: `perSecond` frames on average, `burst` at once. */
export interface RateLimiter {
  /** True when the frame may pass (and takes a token). */
  take(now?: number): boolean;
}

export function createRateLimiter(perSecond: number, burst: number): RateLimiter {
  let tokens = burst;
  let last = performance.now();
  return {
    take(now = performance.now()) {
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond);
      last = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
