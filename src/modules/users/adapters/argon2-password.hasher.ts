import { hash, parseOptions, verify, type Options } from '@node-rs/argon2';
import { randomToken } from '../../../platform/crypto.js';
import type { PasswordHasher } from '../application/ports.js';

// The package declares Algorithm as an ambient const enum, which isolatedModules cannot read: 2 is Argon2id.
const ARGON2ID = 2 as NonNullable<Options['algorithm']>;

/** OWASP's argon2id floor: 19 MiB of memory, 2 passes, 1 lane. */
export const OWASP_ARGON2ID: Options = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** argon2id PHC strings ($argon2id$v=19$m=...,t=...,p=...$salt$hash) through @node-rs/argon2. */
export class Argon2PasswordHasher implements PasswordHasher {
  /** Made up front, so even the first login with an unknown email costs what later ones do. */
  private readonly dummyHash: Promise<string>;

  constructor(private readonly options: Options = OWASP_ARGON2ID) {
    this.dummyHash = this.hash(randomToken());
  }

  hash(password: string): Promise<string> {
    return hash(password, this.options);
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false; // not a PHC string we can read: no password matches it
    }
  }

  needsRehash(passwordHash: string): boolean {
    try {
      const current = parseOptions(passwordHash);
      return (
        current.algorithm !== this.options.algorithm ||
        current.memoryCost !== this.options.memoryCost ||
        current.timeCost !== this.options.timeCost ||
        current.parallelism !== this.options.parallelism
      );
    } catch {
      return true;
    }
  }

  async verifyDummy(password: string): Promise<void> {
    await this.verify(await this.dummyHash, password);
  }
}
