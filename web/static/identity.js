// Who is using the app, the way Backstage's frontend does it. The sign-in page offers the
// providers the backend has configured (GET /api/auth/portico/providers). Guest sign-in is
// GET /api/auth/guest/refresh. GitHub opens /api/auth/github/start in a pop-up; after GitHub,
// the backend's handler frame posts `{type: 'authorization_response', response | error}` back
// to this window and closes. The session then lives in the provider's refresh cookie, so a
// new identity token comes from /api/auth/<provider>/refresh, and sign-out is
// POST /api/auth/<provider>/logout. The provider used last is remembered in localStorage, so
// a reload signs in silently and a sign-out stays signed out.

/** localStorage key: the provider id of the last sign-in, or SIGNED_OUT. */
const STORAGE_KEY = 'portico:sign-in-provider';
const SIGNED_OUT = 'signed-out';

/** Refresh a token this long before it expires. */
const REFRESH_MARGIN_MS = 60_000;
/** How long a closed pop-up may still deliver its message (it posts, then closes itself). */
const POPUP_CLOSE_GRACE_MS = 500;

export class SignInError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'SignInError';
    this.status = status;
  }
}

let providersPromise = null;
let session = null;
let pendingRefresh = null;
const listeners = new Set();

async function fetchJson(url, init) {
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin', ...init });
  } catch (error) {
    throw new SignInError(`Could not reach the Portico server (${error?.message ?? error}).`, 0);
  }
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

// Backstage's auth routes refuse cookie-carrying calls without this header (CSRF).
const XHR = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' };

function remembered() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // Storage can be disabled; then every load starts at the sign-in page.
  }
}

function remember(value) {
  try {
    window.localStorage.setItem(STORAGE_KEY, value);
  } catch {
    // See remembered().
  }
}

/** `{environment, providers: [{id, title}]}`: what the sign-in page may offer. */
export function loadProviders() {
  providersPromise ??= fetchJson('/api/auth/portico/providers', { headers: { Accept: 'application/json' } });
  providersPromise.catch(() => {
    providersPromise = null;
  });
  return providersPromise;
}

function toSession(provider, body) {
  const identity = body?.backstageIdentity;
  if (!identity?.token) throw new SignInError('The sign-in answer has no identity token', 0);
  return {
    provider,
    token: identity.token,
    expiresAt: Date.now() + (identity.expiresInSeconds ?? 3600) * 1000,
    userEntityRef: identity.identity?.userEntityRef ?? '',
    ownershipEntityRefs: identity.identity?.ownershipEntityRefs ?? [],
    profile: body.profile ?? {},
  };
}

async function refreshWith(provider) {
  const { environment } = await loadProviders();
  const query = new URLSearchParams({ optional: '', env: environment ?? 'development' });
  const body = await fetchJson(`/api/auth/${encodeURIComponent(provider)}/refresh?${query}`, { headers: XHR });
  return toSession(provider, body);
}

function setSession(next) {
  session = next;
  if (next) remember(next.provider);
  for (const listener of listeners) listener(next);
}

/** Calls `listener(session | null)` on every sign-in and sign-out. */
export function onSessionChange(listener) {
  listeners.add(listener);
}

export function isSignedIn() {
  return session !== null;
}

/**
 * At start: signs in again with the provider used last (its refresh cookie), or as the guest
 * when that is the only provider and nobody signed out. Resolves to the session or null (the
 * sign-in page then shows); rejects when the providers cannot be read.
 */
export async function restoreSession() {
  const { providers } = await loadProviders();
  const last = remembered();
  let provider = null;
  if (last && last !== SIGNED_OUT && providers.some((p) => p.id === last)) provider = last;
  // The embedded default offers only the guest: nothing to choose, so no page to show.
  else if (!last && providers.length === 1 && providers[0].id === 'guest') provider = 'guest';
  if (!provider) {
    setSession(null);
    return null;
  }
  try {
    setSession(await refreshWith(provider));
  } catch (error) {
    // No session (401) is the normal "signed out"; anything else is worth showing.
    setSession(null);
    if (error.status !== 401) throw error;
  }
  return session;
}

/** Opens the provider's start page in a pop-up and waits for the handler frame's message. */
function popupSignIn(provider, environment) {
  const url = `/api/auth/${encodeURIComponent(provider)}/start?${new URLSearchParams({
    env: environment ?? 'development',
    origin: window.location.origin,
    flow: 'popup',
  })}`;
  const width = 450;
  const height = 730;
  const left = window.screenX + (window.outerWidth - width) / 2;
  const top = window.screenY + (window.outerHeight - height) / 2;
  const popup = window.open(url, `portico-sign-in-${provider}`, `popup,width=${width},height=${height},left=${left},top=${top}`);
  if (!popup) {
    return Promise.reject(new SignInError('The browser blocked the sign-in window. Allow pop-ups for Portico and try again.', 0));
  }
  return new Promise((resolve, reject) => {
    let closedTimer = null;
    const finish = () => {
      window.removeEventListener('message', onMessage);
      window.clearInterval(poll);
      window.clearTimeout(closedTimer);
    };
    function onMessage(event) {
      if (event.source !== popup || event.origin !== window.location.origin) return;
      if (event.data?.type !== 'authorization_response') return;
      finish();
      if (event.data.error) reject(new SignInError(event.data.error.message ?? 'Sign-in failed', 401));
      else resolve(event.data.response);
    }
    window.addEventListener('message', onMessage);
    const poll = window.setInterval(() => {
      if (!popup.closed || closedTimer) return;
      closedTimer = window.setTimeout(() => {
        finish();
        reject(new SignInError('The sign-in window was closed before sign-in finished.', 0));
      }, POPUP_CLOSE_GRACE_MS);
    }, 200);
  });
}

/** Signs in with a provider from the sign-in page. */
export async function signIn(provider) {
  const { environment } = await loadProviders();
  const next = provider === 'guest'
    ? await refreshWith('guest')
    : toSession(provider, await popupSignIn(provider, environment));
  setSession(next);
  return next;
}

/** Ends the session on the server (its refresh cookie) and here. */
export async function signOut() {
  const provider = session?.provider;
  remember(SIGNED_OUT);
  if (provider) {
    try {
      await fetchJson(`/api/auth/${encodeURIComponent(provider)}/logout`, { method: 'POST', headers: XHR });
    } catch {
      // Signed out here regardless; the cookie expires on its own.
    }
  }
  setSession(null);
}

/** The current session, refreshed when it is about to expire (or `refresh`). */
export function getSession({ refresh = false } = {}) {
  if (!session) return Promise.reject(new SignInError('Not signed in', 401));
  if (!refresh && session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return Promise.resolve(session);
  const { provider } = session;
  pendingRefresh ??= refreshWith(provider)
    .then((s) => {
      setSession(s);
      return s;
    })
    .catch((error) => {
      // The session is gone (expired, signed out elsewhere): back to the sign-in page.
      if (error.status === 401) setSession(null);
      throw error;
    })
    .finally(() => {
      pendingRefresh = null;
    });
  return pendingRefresh;
}

/** Headers that authenticate API calls; none when nobody is signed in. */
export async function authHeaders({ refresh = false } = {}) {
  try {
    const s = await getSession({ refresh });
    return { Authorization: `Bearer ${s.token}` };
  } catch {
    return {};
  }
}

/**
 * @returns {{userEntityRef: string, ownershipEntityRefs: string[], provider: string, profile: object} | null}
 */
export function currentIdentity() {
  if (!session) return null;
  const { userEntityRef, ownershipEntityRefs, provider, profile } = session;
  return { userEntityRef, ownershipEntityRefs, provider, profile };
}
