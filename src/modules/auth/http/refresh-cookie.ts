import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

export const REFRESH_COOKIE = 'refresh_token';
/** The cookie goes only to /auth/* (refresh, logout): never to the rest of the API. */
const PATH = '/auth';

export interface RefreshCookieOptions {
  /** false only for local http; browsers drop Secure cookies over plain http except on localhost. */
  secure: boolean;
}

export function readRefreshCookie(c: Context): string | undefined {
  return getCookie(c, REFRESH_COOKIE) || undefined;
}

export function setRefreshCookie(c: Context, token: string, expiresAt: Date, options: RefreshCookieOptions): void {
  setCookie(c, REFRESH_COOKIE, token, {
    path: PATH,
    httpOnly: true,
    sameSite: 'Strict',
    secure: options.secure,
    maxAge: Math.max(0, Math.round((expiresAt.getTime() - Date.now()) / 1000)),
  });
}

export function clearRefreshCookie(c: Context, options: RefreshCookieOptions): void {
  deleteCookie(c, REFRESH_COOKIE, { path: PATH, httpOnly: true, sameSite: 'Strict', secure: options.secure });
}
