import { z } from 'zod';

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? fallback : v === 'true' || v === '1' || v === 'yes'));

const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const MIB = 1024 * 1024;

export const ROLES = ['api', 'relay', 'consumer', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const envSchema = z
  .object({
    NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
    HOST: z.string().default('0.0.0.0'),
    PORT: int(3000, 0, 65535),
    ROLES: z
      .string()
      .default(ROLES.join(','))
      .transform((v, ctx) => {
        const roles = v.split(',').map((r) => r.trim()).filter(Boolean);
        for (const role of roles) {
          if (!(ROLES as readonly string[]).includes(role)) {
            ctx.addIssue({ code: 'custom', message: `unknown role "${role}" (expected ${ROLES.join(', ')})` });
          }
        }
        return [...new Set(roles)] as Role[];
      }),
    DATA_DIR: z.string().default('./data'),
    DATABASE_URL: optionalString.pipe(z.string().url().optional()),
    DATABASE_POOL_MAX: int(10, 1, 500),
    REDIS_URL: optionalString.pipe(z.string().url().optional()),
    REDIS_KEY_PREFIX: z.string().default(''),
    JWT_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    ACCESS_TOKEN_TTL_SECONDS: int(900, 30, 86_400),
    REFRESH_TOKEN_TTL_DAYS: int(30, 1, 365),
    VERIFICATION_TOKEN_TTL_HOURS: int(48, 1, 24 * 30),
    RESET_TOKEN_TTL_MINUTES: int(30, 5, 24 * 60),
    COOKIE_SECURE: bool(true),
    APP_PUBLIC_URL: z.string().url().default('http://localhost:3000'),
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean)),
    SMTP_URL: optionalString.pipe(z.string().url().optional()),
    MAIL_FROM: z.string().default('wahub <no-reply@localhost>'),
    METRICS_ENABLED: bool(false),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOGIN_MAX_FAILURES_PER_EMAIL: int(5, 1),
    LOGIN_MAX_FAILURES_PER_IP: int(50, 1),
    LOGIN_FAILURE_WINDOW_SECONDS: int(900, 1),
    TRUST_PROXY_HOPS: int(0, 0, 10),
    BODY_LIMIT_BYTES: int(1_048_576, 1024),
    OUTBOX_RETENTION_HOURS: int(24, 0),
    STREAM_MAXLEN: int(1_000_000, 1000),
    STREAM_MAX_DELIVERIES: int(5, 1, 100),
    STREAM_CLAIM_IDLE_MS: int(30_000, 100),
    WA_DRIVER: z.enum(['baileys', 'simulator']).default('baileys'),
    WA_VERSION: optionalString.pipe(
      z.string().regex(/^\d+[.,]\d+[.,]\d+$/, 'must be three numbers, e.g. 2.3000.1023223821').optional(),
    ),
    WA_BROWSER: z
      .string()
      .default('macOS,Desktop')
      .pipe(z.string().regex(/^[^,]+,[^,]+$/, 'must be "<platform>,<browser>", e.g. macOS,Desktop')),
    WORKER_ID: optionalString,
    WORKER_SHARDS: int(16, 1, 1024),
    WORKER_LEASE_TTL_MS: int(15_000, 1000),
    SIMULATOR_QR_TTL_MS: int(60_000, 100),
    STORE_RAW_MESSAGES: bool(false),
    S3_ENDPOINT: optionalString.pipe(z.string().url().optional()),
    S3_REGION: optionalString,
    S3_BUCKET: optionalString,
    S3_ACCESS_KEY_ID: optionalString,
    S3_SECRET_ACCESS_KEY: optionalString,
    S3_FORCE_PATH_STYLE: bool(false),
    S3_PUBLIC_BASE_URL: optionalString.pipe(z.string().url().optional()),
    API_PUBLIC_URL: optionalString.pipe(z.string().url().optional()),
    MEDIA_MAX_BYTES: int(100 * MIB, 1),
    MEDIA_IMAGE_MAX_BYTES: int(16 * MIB, 1),
    MEDIA_VIDEO_MAX_BYTES: int(100 * MIB, 1),
    MEDIA_AUDIO_MAX_BYTES: int(100 * MIB, 1),
    MEDIA_DOCUMENT_MAX_BYTES: int(100 * MIB, 1),
    MEDIA_STICKER_MAX_BYTES: int(1 * MIB, 1),
    MEDIA_CONCURRENCY: int(4, 1, 64),
    MEDIA_DOWNLOAD_MAX_ATTEMPTS: int(5, 1, 100),
    MEDIA_RETRY_BASE_MS: int(2_000, 10),
    MEDIA_RETRY_MAX_MS: int(300_000, 10),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required when NODE_ENV=production' });
    }
    if (env.NODE_ENV === 'production' && env.WA_DRIVER === 'simulator') {
      ctx.addIssue({ code: 'custom', path: ['WA_DRIVER'], message: 'the simulator is never enabled when NODE_ENV=production' });
    }
    if (env.ROLES.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['ROLES'], message: 'names no role' });
    }
    if (env.S3_BUCKET) {
      for (const name of ['S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when S3_BUCKET is set' });
      }
    } else {
      for (const name of ['S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_PUBLIC_BASE_URL'] as const) {
        if (env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is set but S3_BUCKET is not (media would go to local disk)' });
      }
    }
  });

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  host: string;
  port: number;
  roles: Role[];
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  /** undefined only outside production: the composition root then uses a secret persisted in DATA_DIR. */
  jwtSecret: string | undefined;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  verificationTokenTtlHours: number;
  resetTokenTtlMinutes: number;
  cookieSecure: boolean;
  appPublicUrl: string;
  corsOrigins: string[];
  smtpUrl: string | undefined;
  mailFrom: string;
  metricsEnabled: boolean;
  logLevel: Env['LOG_LEVEL'];
  loginMaxFailuresPerEmail: number;
  loginMaxFailuresPerIp: number;
  loginFailureWindowSeconds: number;
  trustProxyHops: number;
  bodyLimitBytes: number;
  outboxRetentionHours: number;
  streamMaxLen: number;
  streamMaxDeliveries: number;
  streamClaimIdleMs: number;
  waDriver: 'baileys' | 'simulator';
  /** WhatsApp Web version [major, minor, patch]; undefined uses the one bundled with Baileys. */
  waVersion: [number, number, number] | undefined;
  /** [platform, browser], as shown on the phone under Linked devices. */
  waBrowser: [string, string];
  workerId: string | undefined;
  workerShards: number;
  workerLeaseTtlMs: number;
  /** How long the simulator shows its first QR (each later one: a third of it). */
  simulatorQrTtlMs: number;
  /** Keep WhatsApp's whole message (events' `raw`, session_messages.raw); needed to forward media faithfully. */
  storeRawMessages: boolean;
  /** S3-compatible media storage (S3, R2, MinIO); undefined: local disk under DATA_DIR/media. */
  s3: S3Config | undefined;
  /** The API's public base URL, for URLs of media on local disk; undefined: those URLs are relative. */
  apiPublicUrl: string | undefined;
  /** Largest media file stored, in either direction (uploads and media received from WhatsApp). */
  mediaMaxBytes: number;
  /** Largest upload per kind, each already capped by mediaMaxBytes. */
  mediaUploadMaxBytes: { image: number; video: number; audio: number; document: number; sticker: number };
  /** Inbound media: downloads running at once per worker, attempts per file, and retry backoff (doubling from base up to max). */
  mediaJobs: { concurrency: number; maxAttempts: number; retryBaseMs: number; retryMaxMs: number };
}

export interface S3Config {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Public URL of the bucket (R2: https://<bucket>.<account-id>.r2.dev); objects are at <it>/<key>. */
  publicBaseUrl: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; a wrong value names its variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    roles: e.ROLES,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    jwtSecret: e.JWT_SECRET,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
    verificationTokenTtlHours: e.VERIFICATION_TOKEN_TTL_HOURS,
    resetTokenTtlMinutes: e.RESET_TOKEN_TTL_MINUTES,
    cookieSecure: e.COOKIE_SECURE,
    appPublicUrl: e.APP_PUBLIC_URL.replace(/\/+$/, ''),
    corsOrigins: e.CORS_ORIGINS,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    metricsEnabled: e.METRICS_ENABLED,
    logLevel: e.LOG_LEVEL,
    loginMaxFailuresPerEmail: e.LOGIN_MAX_FAILURES_PER_EMAIL,
    loginMaxFailuresPerIp: e.LOGIN_MAX_FAILURES_PER_IP,
    loginFailureWindowSeconds: e.LOGIN_FAILURE_WINDOW_SECONDS,
    trustProxyHops: e.TRUST_PROXY_HOPS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    outboxRetentionHours: e.OUTBOX_RETENTION_HOURS,
    streamMaxLen: e.STREAM_MAXLEN,
    streamMaxDeliveries: e.STREAM_MAX_DELIVERIES,
    streamClaimIdleMs: e.STREAM_CLAIM_IDLE_MS,
    waDriver: e.WA_DRIVER,
    waVersion: e.WA_VERSION ? (e.WA_VERSION.split(/[.,]/).map(Number) as [number, number, number]) : undefined,
    waBrowser: e.WA_BROWSER.split(',').map((s) => s.trim()) as [string, string],
    workerId: e.WORKER_ID,
    workerShards: e.WORKER_SHARDS,
    workerLeaseTtlMs: e.WORKER_LEASE_TTL_MS,
    simulatorQrTtlMs: e.SIMULATOR_QR_TTL_MS,
    storeRawMessages: e.STORE_RAW_MESSAGES,
    s3: e.S3_BUCKET
      ? {
          endpoint: e.S3_ENDPOINT?.replace(/\/+$/, ''),
          region: e.S3_REGION!,
          bucket: e.S3_BUCKET,
          accessKeyId: e.S3_ACCESS_KEY_ID!,
          secretAccessKey: e.S3_SECRET_ACCESS_KEY!,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          publicBaseUrl: e.S3_PUBLIC_BASE_URL?.replace(/\/+$/, ''),
        }
      : undefined,
    apiPublicUrl: e.API_PUBLIC_URL?.replace(/\/+$/, ''),
    mediaMaxBytes: e.MEDIA_MAX_BYTES,
    mediaUploadMaxBytes: {
      image: Math.min(e.MEDIA_IMAGE_MAX_BYTES, e.MEDIA_MAX_BYTES),
      video: Math.min(e.MEDIA_VIDEO_MAX_BYTES, e.MEDIA_MAX_BYTES),
      audio: Math.min(e.MEDIA_AUDIO_MAX_BYTES, e.MEDIA_MAX_BYTES),
      document: Math.min(e.MEDIA_DOCUMENT_MAX_BYTES, e.MEDIA_MAX_BYTES),
      sticker: Math.min(e.MEDIA_STICKER_MAX_BYTES, e.MEDIA_MAX_BYTES),
    },
    mediaJobs: {
      concurrency: e.MEDIA_CONCURRENCY,
      maxAttempts: e.MEDIA_DOWNLOAD_MAX_ATTEMPTS,
      retryBaseMs: e.MEDIA_RETRY_BASE_MS,
      retryMaxMs: Math.max(e.MEDIA_RETRY_BASE_MS, e.MEDIA_RETRY_MAX_MS),
    },
  };
}
