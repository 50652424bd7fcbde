/**
 * Attachments of videos and channels (facts 3.2):
 * `[{type: {id, name, allowedFileTypes}, data: {id, fileName, downloadUrl, fileSize}}]`.
 * Download URLs have the DOC-DYN form on the emulator's host; the files are not served.
 */
import type { Ctx, Handler } from '../context.js';
import { requireChannel, requireVideo, requireVm } from '../context.js';
import type { VideoManagerRecord } from '../data.js';
import { json } from '../http.js';
import type { AttachmentRecord } from '../media-seed.js';
import type { Router } from '../router.js';

function attachmentJson(vm: VideoManagerRecord, file: AttachmentRecord, downloadBase: string) {
  const type = vm.attachmentTypes?.find((candidate) => candidate.id === file.typeId);
  const typeName = type?.name ?? 'Attachment';
  return {
    type: {
      id: file.typeId,
      name: typeName,
      allowedFileTypes: [...(type?.allowedFileTypes ?? [])],
    },
    data: {
      id: file.id,
      fileName: file.fileName,
      downloadUrl: `${downloadBase}/attachments/${encodeURIComponent(typeName)}/${encodeURIComponent(file.fileName)}`,
      fileSize: file.fileSize,
    },
  };
}

/** `GET /v1/vms/{vm}/videos/{videoId}/attachments`. */
function videoAttachments(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const video = requireVideo(ctx, vm);
  const base = `${ctx.origin}/public/videos/${video.id}`;
  return json(
    200,
    (video.attachments ?? []).map((file) => attachmentJson(vm, file, base)),
  );
}

/** `GET /v1/vms/{vm}/channels/{channelId}/attachments`. */
function channelAttachments(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const channel = requireChannel(vm, ctx.params['channelId']);
  const base = `${ctx.origin}/public/channels/${channel.id}`;
  return json(
    200,
    (channel.attachments ?? []).map((file) => attachmentJson(vm, file, base)),
  );
}

export function attachmentRoutes(router: Router<Handler>): void {
  router
    .add('GET', '/v1/vms/{vm}/videos/{videoId}/attachments', videoAttachments)
    .add('GET', '/v1/vms/{vm}/channels/{channelId}/attachments', channelAttachments);
}
