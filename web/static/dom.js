// Small DOM helpers. Entity data is untrusted: it only ever reaches the page as text nodes or
// attribute values set here, never as HTML, and links go through safeHref().

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'value' && 'value' in el && el.tagName !== 'OPTION') el.value = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
}

export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** h('a', {href: '/x', class: 'link'}, 'text', otherNode) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  return append(el, children);
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  return append(el, children);
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** Only web and mail links from entity data become links; anything else (javascript:, data:) is dropped. */
export function safeHref(url) {
  if (typeof url !== 'string' || url.trim() === '') return null;
  try {
    const parsed = new URL(url, window.location.origin);
    return ['http:', 'https:', 'mailto:'].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

export function externalLink(url, text) {
  const href = safeHref(url);
  if (!href) return h('span', {}, text ?? String(url));
  return h('a', { href, rel: 'noopener noreferrer', target: '_blank', class: 'external' },
    text ?? url, h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'));
}

const numberFormat = new Intl.NumberFormat('en');
export const formatNumber = (n) => numberFormat.format(n);

let idCounter = 0;
export const uniqueId = (prefix) => `${prefix}-${++idCounter}`;

// ---- states: loading, empty, error ----

export function loadingState(text = 'Loading…') {
  return h('div', { class: 'state state--loading', role: 'status' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', {}, text));
}

export function emptyState(title, detail, action) {
  return h('div', { class: 'state state--empty' },
    h('p', { class: 'state__title' }, title),
    detail ? h('p', {}, detail) : null,
    action ?? null);
}

export function errorState(error, retry, title = 'Something went wrong') {
  const message = error?.message ?? String(error);
  const signIn = error?.name === 'SignInError';
  return h('div', { class: 'state state--error', role: 'alert' },
    h('p', { class: 'state__title' }, title),
    h('p', {}, message),
    // A sign-in error already says what failed, on a page that offers sign-in again.
    error?.status === 401 && !signIn ? h('p', {}, 'Portico could not sign you in. Reload the page to try again.') : null,
    error?.name && error.name !== 'Error' && !signIn ? h('p', { class: 'muted' }, `(${error.name}${error.status ? `, HTTP ${error.status}` : ''})`) : null,
    retry ? h('button', { type: 'button', class: 'button', onclick: retry }, 'Try again') : null);
}

export function card(title, ...body) {
  const id = uniqueId('card');
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { class: 'card__title', id }, title), ...body);
}

/** Announces a short message to screen readers (result counts, completed actions). */
export function announce(message) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  window.setTimeout(() => { el.textContent = message; }, 50);
}

export function isAbort(error) {
  return error?.name === 'AbortError';
}
