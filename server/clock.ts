/** Time as epoch milliseconds; injected so expiry and lockout can be tested without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
