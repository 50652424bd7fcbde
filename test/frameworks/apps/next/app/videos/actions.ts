'use server';
import { redirect } from 'next/navigation';
import { vmpro } from '@/lib/vmpro';

/** A server action that calls the API as the signed-in user. */
export async function countVideoManagers(): Promise<void> {
  const { api } = await vmpro.requireLogin({ returnTo: '/videos' });
  const vms = await api.vms.list();
  redirect(`/videos?counted=${vms.length}`);
}
