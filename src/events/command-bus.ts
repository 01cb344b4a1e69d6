import type { Db, Queryable } from '../platform/db/db.js';
import { enqueueOutbox, type OutboxMessage } from './outbox/outbox.js';

export interface CommandContext {
  tx: Queryable;
  /** Queues messages for the outbox; they are written in the same transaction, just before commit. */
  emit(...messages: OutboxMessage[]): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandHandler<I = any, O = any> = (input: I, ctx: CommandContext) => Promise<O>;

/**
 * Runs an API use case as one unit of work: its state changes and the events it emits commit
 * together or not at all (the transactional outbox), then the relay is nudged to publish.
 */
export class CommandBus<Handlers extends Record<string, CommandHandler>> {
  constructor(
    private readonly db: Db,
    private readonly handlers: Handlers,
    private readonly hooks: { afterCommit?: (emitted: number) => void; observe?: (command: string, ms: number, ok: boolean) => void } = {},
  ) {}

  async execute<K extends keyof Handlers & string>(
    command: K,
    input: Parameters<Handlers[K]>[0],
  ): Promise<Awaited<ReturnType<Handlers[K]>>> {
    const handler = this.handlers[command];
    if (!handler) throw new Error(`no handler for command ${command}`);
    const started = performance.now();
    let emitted = 0;
    let ok = false;
    try {
      const result = await this.db.transaction(async (tx) => {
        const messages: OutboxMessage[] = [];
        const output = await handler(input, { tx, emit: (...m) => messages.push(...m) });
        await enqueueOutbox(tx, messages);
        emitted = messages.length;
        return output;
      });
      ok = true;
      if (emitted > 0) this.hooks.afterCommit?.(emitted);
      return result as Awaited<ReturnType<Handlers[K]>>;
    } finally {
      this.hooks.observe?.(command, performance.now() - started, ok);
    }
  }
}
