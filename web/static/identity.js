// Who is using the app. Sign-in is Backstage's guest provider (GET /api/auth/guest/refresh),
// which the embedded default allows; its identity token authenticates every API call, and
// currentIdentity() reads the signed-in user from GET /api/auth/v1/userinfo. A sign-in page
// for the other providers comes with them; until then a failed guest sign-in shows in the
// header and the pages show the API's 401 errors.

export const GUEST_REF = 'user:default/guest';

/** Refresh a token this long before it expires. */
const REFRESH_MARGIN_MS = 60_000;

export class SignInError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'SignInError';
    this.status = status;
  }
}

let session = null;
let pendingSession = null;
let identityPromise = null;

async function fetchJson(url, init) {
  const response = await fetch(url, { credentials: 'same-origin', ...init });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw new SignInError(body?.error?.message ?? `Sign-in failed (HTTP ${response.status})`, response.status);
  }
  return body;
}

async function signIn() {
  const body = await fetchJson('/api/auth/guest/refresh', {
    headers: { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' },
  });
  const identity = body?.backstageIdentity;
  if (!identity?.token) throw new SignInError('The sign-in answer has no identity token', 0);
  return {
    token: identity.token,
    expiresAt: Date.now() + (identity.expiresInSeconds ?? 3600) * 1000,
    provider: 'guest',
    profile: body.profile ?? {},
  };
}

/** The current session, signing in (again) when there is none or it is about to expire. */
export function getSession({ refresh = false } = {}) {
  if (!refresh && session && session.expiresAt - Date.now() > REFRESH_MARGIN_MS) {
    return Promise.resolve(session);
  }
  pendingSession ??= signIn()
    .then((s) => {
      session = s;
      return s;
    })
    .finally(() => {
      pendingSession = null;
    });
  return pendingSession;
}

/** Headers that authenticate API calls; none when sign-in failed. */
export async function authHeaders({ refresh = false } = {}) {
  try {
    const s = await getSession({ refresh });
    return { Authorization: `Bearer ${s.token}` };
  } catch {
    return {};
  }
}

/**
 * @returns {Promise<{userEntityRef: string, ownershipEntityRefs: string[], isGuest: boolean, profile: object}>}
 * Rejects with a SignInError when nobody could be signed in.
 */
export function currentIdentity() {
  identityPromise ??= (async () => {
    const s = await getSession();
    const info = await fetchJson('/api/auth/v1/userinfo', {
      headers: { Accept: 'application/json', Authorization: `Bearer ${s.token}` },
    });
    const claims = info?.claims ?? {};
    return {
      userEntityRef: claims.sub ?? GUEST_REF,
      ownershipEntityRefs: Array.isArray(claims.ent) ? claims.ent : [],
      isGuest: s.provider === 'guest',
      profile: s.profile,
    };
  })();
  identityPromise.catch(() => {
    identityPromise = null;
  });
  return identityPromise;
}
