// The last 15 minutes of a few of the node's own metrics, sampled every 5 s, for the dashboard's
// charts (GET /metrics/series): tasks finished per second, items placed and moved, failovers and
// their mean duration, and whether this node led. Read from the same registry /metrics serves.
import { registry } from './metrics.js';

/** One sample: the rates and counts of the interval that ended at `at`. */
export interface SeriesPoint {
  at: number;
  tasksPerSec: number;
  placed: number;
  moved: number;
  failovers: number;
  /** Mean failover duration in the interval (s), if any. */
  failoverSeconds?: number;
  leading: number;
}

/** Sums every sample of a metric (counters and gauges; for a histogram, the name of its _count or _sum). */
async function total(name: string, sample?: string, match?: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => (sample === undefined || (v as { metricName?: string }).metricName === sample) && Object.entries(match ?? {}).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
}

/** Samples the node's metrics at a fixed interval, keeping a window of points. */
export class MetricSeries {
  private readonly points: SeriesPoint[] = [];
  private last?: { at: number; tasks: number; placed: number; moved: number; failovers: number; failoverSum: number };
  private timer?: NodeJS.Timeout;

  constructor(
    readonly everyMs = 5000,
    private readonly keep = 180,
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The window, oldest first. */
  get(): { everyMs: number; points: SeriesPoint[] } {
    return { everyMs: this.everyMs, points: [...this.points] };
  }

  private async sample(): Promise<void> {
    const now = { at: Date.now(), tasks: await total('rota_tasks_finished_total'), placed: await total('rota_assignments_total', undefined, { reason: 'placed' }), moved: await total('rota_assignments_total', undefined, { reason: 'moved' }), failovers: await total('rota_failover_seconds', 'rota_failover_seconds_count'), failoverSum: await total('rota_failover_seconds', 'rota_failover_seconds_sum') };
    const leading = await total('rota_leader');
    const prev = this.last;
    this.last = now;
    if (!prev) return;
    const failovers = now.failovers - prev.failovers;
    this.points.push({ at: now.at, tasksPerSec: Math.round(((now.tasks - prev.tasks) / Math.max(0.001, (now.at - prev.at) / 1000)) * 100) / 100, placed: now.placed - prev.placed, moved: now.moved - prev.moved, failovers, failoverSeconds: failovers > 0 ? Math.round(((now.failoverSum - prev.failoverSum) / failovers) * 1000) / 1000 : undefined, leading });
    if (this.points.length > this.keep) this.points.shift();
  }
}
