/**
 * A tiny router: method + path template (`/v1/vms/{vm}/videos/{videoId}`) → handler.
 *
 * When several templates fit a path, the one with a literal segment earliest wins, so
 * `/v1/vms/{vm}/videos/videoIds` beats `/v1/vms/{vm}/videos/{videoId}`. A path that fits only
 * templates of other methods gives the list of allowed methods (for a `405`).
 */
import { badRequest } from './errors.js';

type Segment = { literal: string } | { param: string };

export interface Route<H> {
  method: string;
  /** The template as written, e.g. `/v1/vms/{vm}/videos`; also the counter key. */
  template: string;
  handler: H;
  segments: Segment[];
}

export type RouteMatch<H> =
  | { kind: 'found'; route: Route<H>; params: Record<string, string> }
  | { kind: 'method-not-allowed'; template: string; allowed: string[] }
  | { kind: 'not-found' };

export class Router<H> {
  readonly #routes: Route<H>[] = [];

  add(method: string, template: string, handler: H): this {
    const segments = splitPath(template).map((part): Segment => {
      const param = /^\{([A-Za-z]\w*)\}$/.exec(part);
      return param ? { param: param[1]! } : { literal: part };
    });
    this.#routes.push({ method: method.toUpperCase(), template, handler, segments });
    return this;
  }

  /**
   * Finds the route for `method` and `pathname` (percent-encoded, as in `URL.pathname`; a
   * trailing slash is ignored). Throws a `400` for a segment that is not valid percent-encoding.
   */
  match(method: string, pathname: string): RouteMatch<H> {
    const parts = splitPath(pathname).map(decodeSegment);
    const fits: { route: Route<H>; params: Record<string, string>; rank: string }[] = [];
    for (const route of this.#routes) {
      const params = fitSegments(route.segments, parts);
      if (params) fits.push({ route, params, rank: rank(route.segments) });
    }
    if (fits.length === 0) return { kind: 'not-found' };
    const byRank = (a: { rank: string }, b: { rank: string }) =>
      a.rank < b.rank ? 1 : a.rank > b.rank ? -1 : 0;
    const upper = method.toUpperCase();
    const same = fits.filter((candidate) => candidate.route.method === upper).sort(byRank);
    const best = same[0];
    if (best) return { kind: 'found', route: best.route, params: best.params };
    const sorted = [...fits].sort(byRank);
    const allowed = [...new Set(sorted.map((candidate) => candidate.route.method))].sort();
    return { kind: 'method-not-allowed', template: sorted[0]!.route.template, allowed };
  }
}

/** Splits a path into segments; a trailing slash adds no empty segment. */
function splitPath(path: string): string[] {
  const parts = path.split('/').slice(1);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest('The request path contains malformed percent-encoding.');
  }
}

function fitSegments(segments: Segment[], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    const part = parts[index]!;
    if ('literal' in segment) {
      if (segment.literal !== part) return null;
    } else {
      if (part === '') return null;
      params[segment.param] = part;
    }
  }
  return params;
}

/** `1` for each literal segment, `0` for each parameter: the larger string is more specific. */
function rank(segments: Segment[]): string {
  return segments.map((segment) => ('literal' in segment ? '1' : '0')).join('');
}
