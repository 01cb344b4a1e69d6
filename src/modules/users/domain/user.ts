export type UserRole = 'owner' | 'member';

/** A user as stored. The password hash never leaves the application layer. */
export interface User {
  id: string;
  tenantId: string;
  email: string;
  name: string | null;
  role: UserRole;
  passwordHash: string;
  emailVerifiedAt: Date | null;
  /** Access tokens carry it; bumping it (logout-all, password reset) revokes every one issued before. */
  tokenVersion: number;
  createdAt: Date;
}

export const isEmailVerified = (user: Pick<User, 'emailVerifiedAt'>): boolean => user.emailVerifiedAt !== null;
