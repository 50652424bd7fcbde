// /auth/login, /auth/callback, /auth/logout, /auth/backchannel-logout and /auth/refresh.
import { vmpro } from '@/lib/vmpro';

export const { GET, POST } = vmpro.handlers;
