import { hostname } from 'node:os';
import type { Config } from '../../platform/config.js';
import type { Queryable } from '../../platform/db/db.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { StreamBus } from '../../events/bus/stream-bus.js';
import { StreamConsumer } from '../../events/bus/stream-consumer.js';
import { STREAMS } from '../../events/envelope.js';
import { deliverMailHandler, MAILER_GROUP } from './application/deliver-mail.consumer.js';
import type { MailSealer } from './application/mail-sealer.js';
import type { Mailer } from './application/ports.js';

export interface MailModuleDeps {
  bus: StreamBus;
  db: Queryable;
  mailer: Mailer;
  sealer: MailSealer;
  logger: Logger;
  metrics: Metrics;
  config: Pick<Config, 'streamClaimIdleMs' | 'streamMaxDeliveries' | 'workerId'>;
}

/** The consumer (group `mailer`) that sends what use cases queued on the `mail` stream. */
export function createMailModule(deps: MailModuleDeps) {
  const { bus, metrics, config } = deps;
  const logger = deps.logger.child({ component: 'mailer' });
  const stream = STREAMS.mail;
  const consumer = new StreamConsumer({
    bus,
    stream,
    group: MAILER_GROUP,
    consumer: `${config.workerId ?? hostname()}-${process.pid}`,
    handle: deliverMailHandler({ db: deps.db, mailer: deps.mailer, sealer: deps.sealer, logger }),
    logger,
    claimIdleMs: config.streamClaimIdleMs,
    maxDeliveries: config.streamMaxDeliveries,
    batchSize: 20,
    metrics,
  });
  return { consumer, consumerGroup: { stream, group: MAILER_GROUP } };
}
