// A bound on how many calls one component has in flight, so a burst (10,000 items assigned at
// once) queues here instead of flooding the store.

/** Runs at most `max` tasks at once, the rest in arrival order. */
export class Limiter {
  private active = 0;
  /** Tasks let through but not yet running (woken, their await not yet resumed). */
  private starting = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private max: number) {}

  /** Changes the bound; more room starts waiting tasks at once. */
  resize(max: number): void {
    this.max = max;
    while (this.active + this.starting < this.max && this.waiting.length) (this.starting++, this.waiting.shift()!());
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active + this.starting >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.starting++;
    this.starting--;
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      if (this.active + this.starting < this.max && this.waiting.length) (this.starting++, this.waiting.shift()!());
    }
  }
}
