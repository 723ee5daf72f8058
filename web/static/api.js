// The catalog API client: the same public endpoints Backstage's clients use, under /api/catalog.

import { authHeaders, currentIdentity } from './identity.js';
import { parseRef, stringifyRef } from './refs.js';

const BASE = '/api/catalog';

export class ApiError extends Error {
  constructor(status, name, message) {
    super(message);
    this.status = status;
    this.name = name;
  }
}

async function send(method, url, body, signal, refreshToken) {
  const headers = { Accept: 'application/json', ...(await authHeaders({ refresh: refreshToken })) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    return await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(0, 'NetworkError', `Could not reach the Portico server (${error?.message ?? error}).`);
  }
}

/** `query` is a list of [key, value] pairs, so keys may repeat (filter, facet). */
async function request(method, path, { query = [], body, signal } = {}) {
  const url = new URL(BASE + path, window.location.origin);
  for (const [key, value] of query) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.append(key, value);
  }
  let response = await send(method, url, body, signal, false);
  if (response.status === 401) {
    // An expired or revoked token: refresh the session once.
    response = await send(method, url, body, signal, true);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      json?.error?.name ?? 'Error',
      json?.error?.message ?? `The server answered ${response.status} ${response.statusText}`,
    );
  }
  return json;
}

/**
 * One page of entities: GET /entities/by-query. Either a `cursor` (from a previous page), or
 * the query itself: `filter` (Backstage filter string), `orderField`, `term` (full text).
 */
export function queryEntities({ filter, fields, limit = 25, orderField, term, termFields, cursor, totalItems, signal }) {
  const query = [['limit', String(limit)]];
  if (fields) query.push(['fields', fields.join(',')]);
  if (cursor) {
    query.push(['cursor', cursor]);
  } else {
    if (filter) query.push(['filter', filter]);
    if (orderField) query.push(['orderField', orderField]);
    if (term) {
      query.push(['fullTextFilterTerm', term]);
      if (termFields) query.push(['fullTextFilterFields', termFields.join(',')]);
    }
    if (totalItems === false) query.push(['totalItemsMode', 'exclude']);
  }
  return request('GET', '/entities/by-query', { query, signal });
}

/** The entity, or null when there is none. */
export async function getEntityByRef(ref, { signal } = {}) {
  const r = typeof ref === 'string' ? parseRef(ref) : ref;
  const path = `/entities/by-name/${encodeURIComponent(r.kind)}/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`;
  try {
    return await request('GET', path, { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function getEntitiesByRefs(refs, { fields, signal } = {}) {
  if (refs.length === 0) return [];
  const query = fields ? [['fields', fields.join(',')]] : [];
  const body = await request('POST', '/entities/by-refs', { query, body: { entityRefs: refs }, signal });
  return body.items;
}

/** `{ facetName: [{value, count}] }` for the given facets, counted over `filter`. */
export async function getFacets(facets, { filter, signal } = {}) {
  const query = facets.map((f) => ['facet', f]);
  if (filter) query.push(['filter', filter]);
  const body = await request('GET', '/entity-facets', { query, signal });
  return body.facets;
}

/** POST /locations (with `dryRun`: what would be added, nothing is stored). */
export function addLocation(target, { dryRun = false, signal } = {}) {
  return request('POST', '/locations', {
    query: dryRun ? [['dryRun', 'true']] : [],
    body: { type: 'url', target },
    signal,
  });
}

/** Joins filter statements `key=value` into one Backstage filter string (AND of keys, OR of repeated keys). */
export function filterString(pairs) {
  return pairs
    .filter(([, value]) => value !== undefined && value !== null && value !== '' && !String(value).includes(','))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

let ownership = { user: null, promise: null };

/** The refs that count as "mine": the identity's ownership refs and the user's groups. */
export function ownershipRefs() {
  const identity = currentIdentity();
  if (!identity) return Promise.resolve([]);
  // Cached per user: a sign-out and sign-in as someone else starts over.
  if (ownership.user === identity.userEntityRef && ownership.promise) return ownership.promise;
  const promise = (async () => {
    const refs = new Set(identity.ownershipEntityRefs.map((r) => stringifyRef(parseRef(r))));
    try {
      const user = await getEntityByRef(identity.userEntityRef);
      for (const rel of user?.relations ?? []) {
        if (rel.type === 'memberOf') refs.add(rel.targetRef.toLowerCase());
      }
    } catch {
      // Without the user entity the identity's own refs still work.
    }
    return [...refs];
  })();
  ownership = { user: identity.userEntityRef, promise };
  return promise;
}
