import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIB = 1024 * 1024;

export interface MemoryChild<FromChild extends { type: string }> {
  proc: ChildProcess;
  /** The next message of that type from the child. */
  next<T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>>;
  /** Stops the child, the S3 test server and removes the data folder. */
  stop(): Promise<void>;
}

/**
 * The parent side of the memory scripts: the wahub under measure runs in a child process of the
 * same script (with --expose-gc and a fresh DATA_DIR, optionally against the S3 test server), so
 * its RSS is its own.
 */
export async function startMemoryChild<FromChild extends { type: string }>(
  scriptUrl: string,
  options: { dataDirPrefix: string; env: Record<string, string>; useS3: boolean },
): Promise<MemoryChild<FromChild>> {
  const dataDir = mkdtempSync(path.join(tmpdir(), options.dataDirPrefix));
  const env: Record<string, string> = {
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256-0123456789',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...options.env,
  };
  let s3: { stop(): Promise<void> } | undefined;
  if (options.useS3) {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    const { startTestS3 } = await import('../../test/media/s3-server.js');
    const server = await startTestS3();
    Object.assign(env, server.env);
    s3 = server;
  }
  const proc = fork(fileURLToPath(scriptUrl), [], {
    env: { ...process.env, ...env, MEDIA_BENCH_CHILD: '1', MEDIA_BENCH_ENV: JSON.stringify(env) },
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    proc,
    next: <T extends FromChild['type']>(type: T) =>
      new Promise<Extract<FromChild, { type: T }>>((resolve) => {
        const on = (m: FromChild) => {
          if (m.type !== type) return;
          proc.off('message', on);
          resolve(m as Extract<FromChild, { type: T }>);
        };
        proc.on('message', on);
      }),
    async stop() {
      if (proc.exitCode === null) {
        proc.send({ type: 'stop' });
        await new Promise((r) => proc.once('exit', r));
      }
      await s3?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
