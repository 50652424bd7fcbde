/**
 * Channel routes (facts 3.2): the tree (one root with nested `children`, not sorted), create
 * (201 + `Location`), update (200), delete (200; codes 1001/1002), and a video's membership (200).
 */
import type { Ctx, Handler } from '../context.js';
import { locationOf, requireChannel, requireNotArchived, requireVideo, requireVm } from '../context.js';
import type { ChannelRecord } from '../data.js';
import { ApiError, notFound } from '../errors.js';
import { Body, empty, json, readJsonObject } from '../http.js';
import type { Router } from '../router.js';
import { channelJson, channelTree } from '../serialize.js';

/**
 * `GET /v1/vms/{vm}/channels` → the root channel with nested `children`. With `?videoId=…` the
 * channels that video is in, as a flat array (the shape of that variant is not documented).
 */
function getChannels(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  ctx.query.string('locale'); // accepted; channel names exist in the default metadata set only
  const videoId = ctx.query.string('videoId');
  if (videoId !== undefined) {
    const video = requireVideo(ctx, vm, videoId);
    return json(
      200,
      video.channelIds.flatMap((id) => {
        const channel = vm.channels.get(id);
        return channel ? [{ ...channelJson(channel), children: [] }] : [];
      }),
    );
  }
  return json(200, channelTree(vm, vm.channels.get(vm.rootChannelId)!));
}

/** `POST /v1/vms/{vm}/channels` `{name, parentId, ownerGroupId?}` → `201`, `Location: …/channels/{id}`. */
async function createChannel(ctx: Ctx): Promise<Response> {
  const vm = requireVm(ctx);
  const body = new Body(await readJsonObject(ctx.request));
  body.onlyKeys(['name', 'parentId', 'ownerGroupId', 'description']);
  const name = body.string('name', { required: true, nonEmpty: true })!.trim();
  const parentId = body.integer('parentId', { required: true, min: 0 })!;
  const ownerGroupId = body.integer('ownerGroupId', { min: 0 });
  const description = body.string('description') ?? '';
  const parent = requireChannel(vm, parentId, 'parentId');
  if ([...vm.channels.values()].some((channel) => channel.parentId === parent.id && channel.name === name)) {
    throw new ApiError(400, `Channel "${parent.name}" already has a sub-channel named "${name}".`, {
      code: 'ENTRY_ALREADY_EXISTS',
    });
  }
  const channel: ChannelRecord = {
    id: ctx.state.data.next.channel++,
    name,
    description,
    parentId: parent.id,
    createdDate: ctx.now,
    modifiedDate: ctx.now,
    ownerGroupId: ownerGroupId ?? null,
  };
  vm.channels.set(channel.id, channel);
  return empty(201, { location: locationOf(ctx, `/v1/vms/${vm.id}/channels/${channel.id}`) });
}

/** `PATCH /v1/vms/{vm}/channels/{channelId}` `{name?, description?}` → `200` with the channel. */
async function updateChannel(ctx: Ctx): Promise<Response> {
  const vm = requireVm(ctx);
  const channel = requireChannel(vm, ctx.params['channelId']);
  ctx.query.boolean('adminMode', false);
  const body = new Body(await readJsonObject(ctx.request));
  body.onlyKeys(['name', 'description', 'ownerGroupId']);
  const name = body.string('name', { nonEmpty: true })?.trim();
  const description = body.string('description');
  const ownerGroupId = body.integer('ownerGroupId', { min: 0 });
  if (name !== undefined) channel.name = name;
  if (description !== undefined) channel.description = description;
  if (ownerGroupId !== undefined) channel.ownerGroupId = ownerGroupId;
  channel.modifiedDate = ctx.now;
  return json(200, channelTree(vm, channel));
}

/** `DELETE /v1/vms/{vm}/channels/{channelId}` → `200`; never the root (1001) or a channel with sub-channels (1002). */
function deleteChannel(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const channel = requireChannel(vm, ctx.params['channelId']);
  if (channel.id === vm.rootChannelId) {
    throw new ApiError(400, 'The root channel cannot be deleted.', { code: 1001 });
  }
  if ([...vm.channels.values()].some((each) => each.parentId === channel.id)) {
    throw new ApiError(400, `Channel ${channel.id} has sub-channels; delete them first.`, { code: 1002 });
  }
  vm.channels.delete(channel.id);
  for (const video of vm.videos.values()) {
    video.channelIds = video.channelIds.filter((id) => id !== channel.id);
    if (video.relatedVideosChannelId === channel.id) video.relatedVideosChannelId = null;
  }
  return empty(200);
}

/** `POST /v1/vms/{vm}/channels/{channelId}/videos/{videoId}` → `200`; adding twice is harmless. */
function addVideoToChannel(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const channel = requireChannel(vm, ctx.params['channelId']);
  const video = requireVideo(ctx, vm);
  requireNotArchived(video);
  if (!video.channelIds.includes(channel.id)) {
    video.channelIds.push(channel.id);
    video.modifiedDate = ctx.now;
  }
  return empty(200);
}

/** `DELETE /v1/vms/{vm}/channels/{channelId}/videos/{videoId}` → `200`; `404` when the video is not in it. */
function removeVideoFromChannel(ctx: Ctx): Response {
  const vm = requireVm(ctx);
  const channel = requireChannel(vm, ctx.params['channelId']);
  const video = requireVideo(ctx, vm);
  if (!video.channelIds.includes(channel.id)) {
    throw notFound(`Video ${video.id} is not in channel ${channel.id}.`);
  }
  requireNotArchived(video);
  video.channelIds = video.channelIds.filter((id) => id !== channel.id);
  video.modifiedDate = ctx.now;
  return empty(200);
}

export function channelRoutes(router: Router<Handler>): void {
  router
    .add('GET', '/v1/vms/{vm}/channels', getChannels)
    .add('POST', '/v1/vms/{vm}/channels', createChannel)
    .add('PATCH', '/v1/vms/{vm}/channels/{channelId}', updateChannel)
    .add('DELETE', '/v1/vms/{vm}/channels/{channelId}', deleteChannel)
    .add('POST', '/v1/vms/{vm}/channels/{channelId}/videos/{videoId}', addVideoToChannel)
    .add('DELETE', '/v1/vms/{vm}/channels/{channelId}/videos/{videoId}', removeVideoFromChannel);
}
