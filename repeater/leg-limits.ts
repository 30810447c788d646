// Counts open legs (from the upgrade request until the socket closes) overall
// and per remote address, so one address or a flood cannot exhaust the process.
export class LegLimits {
  #total = 0;
  readonly #byAddress = new Map<string, number>();

  private readonly maxLegs: number;
  private readonly maxLegsPerAddress: number;

  constructor(
    maxLegs: number,
    maxLegsPerAddress: number,
  ) {
    this.maxLegs = maxLegs;
    this.maxLegsPerAddress = maxLegsPerAddress;
  }

  get total(): number {
    return this.#total;
  }

  /** Takes a place, or names the limit that refuses it. */
  acquire(address: string): 'TOO_MANY_LEGS' | 'TOO_MANY_LEGS_FROM_ADDRESS' | null {
    if (this.#total >= this.maxLegs) return 'TOO_MANY_LEGS';
    const current = this.#byAddress.get(address) ?? 0;
    if (current >= this.maxLegsPerAddress) return 'TOO_MANY_LEGS_FROM_ADDRESS';
    this.#total += 1;
    this.#byAddress.set(address, current + 1);
    return null;
  }

  release(address: string): void {
    const current = this.#byAddress.get(address);
    if (current === undefined) return;
    this.#total -= 1;
    if (current <= 1) this.#byAddress.delete(address);
    else this.#byAddress.set(address, current - 1);
  }
}
