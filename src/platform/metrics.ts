import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus registry and the metrics every role shares. Gauges that need a query (backlogs,
 * lag) are filled by collectors registered by the roles that can answer them.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'wahub_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'wahub_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly outboxPublished = new Counter({
    name: 'wahub_outbox_published_total',
    help: 'Outbox rows published to their stream',
    registers: [this.registry],
  });
  readonly streamProcessed = new Counter({
    name: 'wahub_stream_entries_processed_total',
    help: 'Stream entries handled by consumers, by stream, group and outcome',
    labelNames: ['stream', 'group', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly streamDeadLettered = new Counter({
    name: 'wahub_stream_dead_lettered_total',
    help: 'Stream entries moved to a dead-letter stream by this process',
    labelNames: ['stream', 'group'] as const,
    registers: [this.registry],
  });
  readonly sessionEvents = new Counter({
    name: 'wahub_session_events_total',
    help: 'session.* events published by the workers of this process, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly commands = new Histogram({
    name: 'wahub_command_duration_seconds',
    help: 'Command bus use cases by command and outcome',
    labelNames: ['command', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics: boolean } = { defaultMetrics: true }) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'wahub_' });
  }

  /** A gauge whose value is computed at scrape time. */
  gauge(name: string, help: string, labelNames: string[], collect: (gauge: Gauge<string>) => Promise<void>): Gauge<string> {
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        await collect(this);
      },
    });
  }
}
