// How long one attempt of an etcd call may wait before it is given up and tried again. A fixed
// deadline turns an overloaded etcd into a retry storm: every attempt slower than the deadline is
// abandoned while etcd still does its work, and sent again (a fleet of 1,000 workers collapsed
// that way). So the deadline follows what etcd's answers take, as TCP's retransmission timer
// follows the round trip (RFC 6298: smoothed time plus four deviations), and doubles for each
// attempt of a call that timed out.

/** The deadline of the next attempt, learnt from the answers so far. */
export class AttemptDeadline {
  private srtt?: number;
  private rttvar = 0;

  /** `floorMs`: never less (a dead member is still found this fast); `ceilingMs`: never more. */
  constructor(
    private readonly floorMs: number,
    private readonly ceilingMs: number,
  ) {}

  /** An attempt was answered after `ms`. */
  answered(ms: number): void {
    if (this.srtt === undefined) {
      this.srtt = ms;
      this.rttvar = ms / 2;
      return;
    }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
    this.srtt = 0.875 * this.srtt + 0.125 * ms;
  }

  /** The deadline of an attempt after `timedOut` attempts of the same call ran out of time. */
  forAttempt(timedOut: number): number {
    const learnt = this.srtt === undefined ? 0 : this.srtt + 4 * this.rttvar;
    return Math.min(this.ceilingMs, Math.max(this.floorMs, learnt) * 2 ** timedOut);
  }
}
