// Client-side routing with the History API. A page module exports mount(main, ctx), which
// returns { update?(ctx), unmount?() }: when the URL changes but the page stays the same (a
// filter, a cursor), update() is called instead of building the page again.

let routes = [];
let fallback = null;
let current = null;
let onChange = () => {};
let gateRoute = null;

export function setRoutes(table, notFoundPage, changed) {
  routes = table;
  fallback = notFoundPage;
  onChange = changed ?? onChange;
}

/**
 * While set, `page` shows instead of whatever the URL names (the sign-in page before anyone
 * is signed in); the URL is kept, so clearing the gate shows the page asked for.
 */
export function setGate(page) {
  gateRoute = page ? { name: 'gate', page } : null;
}

function match(pathname) {
  for (const route of routes) {
    const m = route.pattern.exec(pathname);
    if (m) {
      const params = {};
      (route.keys ?? []).forEach((key, i) => {
        try {
          params[key] = decodeURIComponent(m[i + 1]);
        } catch {
          params[key] = m[i + 1];
        }
      });
      return { route, params };
    }
  }
  return { route: { name: 'not-found', page: fallback }, params: {} };
}

export function setTitle(title) {
  document.title = title ? `${title} · Portico` : 'Portico';
}

/** Goes to `href` inside the app (or leaves it for another origin). */
export function navigate(href, { replace = false } = {}) {
  const url = new URL(href, window.location.href);
  if (url.origin !== window.location.origin) {
    window.location.assign(url.href);
    return;
  }
  if (replace) window.history.replaceState(null, '', url.href);
  else window.history.pushState(null, '', url.href);
  render({ moveFocus: !replace });
}

export function render({ moveFocus = false } = {}) {
  const main = document.getElementById('main');
  const url = new URL(window.location.href);
  if (url.pathname === '/' || url.pathname === '') {
    window.history.replaceState(null, '', `/catalog${url.search}`);
    return render({ moveFocus });
  }
  const found = gateRoute ? { route: gateRoute, params: {} } : match(url.pathname);
  const ctx = { params: found.params, url, navigate, setTitle };
  onChange(url, found.route);
  if (current && current.route === found.route && current.instance?.update) {
    current.instance.update(ctx);
    return undefined;
  }
  current?.instance?.unmount?.();
  main.replaceChildren();
  main.removeAttribute('aria-busy');
  const instance = found.route.page.mount(main, ctx);
  current = { route: found.route, instance };
  window.scrollTo(0, 0);
  if (moveFocus) {
    // Moves keyboard and screen-reader focus to the new page's heading.
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    } else {
      main.focus({ preventScroll: true });
    }
  }
  return undefined;
}

function isAppLink(anchor, event) {
  if (event.defaultPrevented || event.button !== 0) return false;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
  if (anchor.hasAttribute('download')) return false;
  const target = anchor.getAttribute('target');
  if (target && target !== '_self') return false;
  const href = anchor.getAttribute('href');
  if (!href || href.startsWith('#')) return false;
  const url = new URL(href, window.location.href);
  if (url.origin !== window.location.origin) return false;
  return !url.pathname.startsWith('/api/') && !url.pathname.startsWith('/static/');
}

export function start() {
  document.addEventListener('click', (event) => {
    const anchor = event.target instanceof Element ? event.target.closest('a') : null;
    if (!anchor || !isAppLink(anchor, event)) return;
    event.preventDefault();
    navigate(anchor.getAttribute('href'));
  });
  window.addEventListener('popstate', () => render({ moveFocus: false }));
  render();
}
