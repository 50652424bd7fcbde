import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import type { VmproApiClient } from 'vmpro-connect/api';
import { VmproApi, VmproGuard, VmproUser } from 'vmpro-connect/nestjs';
import type { SessionUser } from 'vmpro-connect/session';
import { prefix } from './paths';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

@Controller()
export class VideosController {
  @Get('healthz')
  health(): string {
    return 'ok';
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  home(@VmproUser() user: SessionUser | null): string {
    return user
      ? `<p>Signed in as <span id="user-name">${escape(user.name ?? user.sub)}</span>.</p>`
      : `<p id="signed-out">Not signed in. <a id="sign-in" href="${prefix}/auth/login?returnTo=${prefix}/videos">Sign in</a></p>`;
  }

  @Get('videos')
  @UseGuards(VmproGuard)
  @Header('content-type', 'text/html; charset=utf-8')
  async videos(@VmproUser() user: SessionUser, @VmproApi() api: VmproApiClient): Promise<string> {
    const vms = await api.vms.list();
    return (
      `<h1>Videos</h1><p>Signed in as <span id="user-name">${escape(user.name ?? user.sub)}</span></p>` +
      `<ul id="vms">${vms.map((vm) => `<li>${escape(vm.name)}</li>`).join('')}</ul>` +
      `<form method="post" action="${prefix}/auth/logout"><button id="sign-out" type="submit">Sign out</button></form>`
    );
  }

  @Get('api/vms')
  @UseGuards(VmproGuard)
  vms(@VmproApi() api: VmproApiClient) {
    return api.vms.list();
  }

  /** The API answers 404 for a video that does not exist; the module's exception filter keeps it a 404. */
  @Get('missing-video')
  @UseGuards(VmproGuard)
  async missing(@VmproApi() api: VmproApiClient) {
    const [vm] = await api.vms.list();
    return api.videos.get(vm?.id ?? 0, 'no-such-video');
  }
}
