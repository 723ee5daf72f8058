// One entity: /catalog/:namespace/:kind/:name. About card, relations (graph and lists),
// processing errors, kind-specific cards (API definition; a group's members, parent and child
// groups and what it owns; a user's groups and what they own), and the entity as YAML.

import { getEntityByRef, queryEntities } from '../api.js';
import {
  card, emptyState, errorState, externalLink, formatNumber, h, isAbort, loadingState, uniqueId,
} from '../dom.js';
import { relationsGraph } from '../graph.js';
import {
  displayName, entityPath, entityPathOf, humanRef, parseRef, refOf, relationWords,
} from '../refs.js';
import { toYaml } from '../yaml.js';

const LIST_LIMIT = 20;
const OWNED_KINDS = new Set(['component', 'api', 'resource', 'system', 'domain', 'template']);
const SYSTEM_KINDS = new Set(['component', 'api', 'resource']);
const TYPED_KINDS = new Set(['component', 'api', 'resource', 'group', 'template']);
const LIFECYCLE_KINDS = new Set(['component', 'api']);
const QUERY_PAGE = 20;
const LIST_FIELDS = ['kind', 'metadata.namespace', 'metadata.name', 'metadata.title', 'spec.type', 'spec.profile.displayName', 'spec.profile.email'];

function narrow(section) {
  section.classList.add('card--narrow');
  return section;
}

function refLink(ref, hideKind) {
  return h('a', { href: entityPath(ref) }, humanRef(ref, hideKind));
}

function linkList(refs, hideKind, limit = LIST_LIMIT) {
  const list = h('ul', { class: 'link-list' });
  const show = (n) => list.replaceChildren(...refs.slice(0, n).map((r) => h('li', {}, refLink(r, hideKind))));
  show(limit);
  if (refs.length <= limit) return list;
  const more = h('button', { type: 'button', class: 'button button--link' }, `Show all ${formatNumber(refs.length)}`);
  more.addEventListener('click', () => {
    show(refs.length);
    more.remove();
  });
  return h('div', {}, list, more);
}

function relationTargets(entity, type) {
  return (entity.relations ?? []).filter((r) => r.type === type).map((r) => r.targetRef);
}

function annotation(entity, key) {
  return entity.metadata?.annotations?.[key];
}

/** `url:https://…` → the URL; other location types are not links. */
function locationUrl(value) {
  if (typeof value !== 'string') return null;
  const m = /^url:(.*)$/.exec(value);
  return m ? m[1] : null;
}

function definitionList(rows) {
  return h('dl', { class: 'about' }, rows.filter(Boolean).map(([term, value, wide]) => h('div', { class: wide ? 'about__item about__item--wide' : 'about__item' },
    h('dt', {}, term),
    h('dd', {}, value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)
      ? h('span', { class: 'muted' }, '—') : value))));
}

function aboutCard(entity) {
  const spec = entity.spec ?? {};
  const meta = entity.metadata ?? {};
  const ns = meta.namespace;
  const owners = relationTargets(entity, 'ownedBy');
  const ownerRefs = owners.length ? owners
    : typeof spec.owner === 'string' ? [parseRef(spec.owner, { kind: 'group', namespace: ns })] : [];
  const system = typeof spec.system === 'string' ? parseRef(spec.system, { kind: 'system', namespace: ns }) : null;
  const domainRef = typeof spec.domain === 'string' ? parseRef(spec.domain, { kind: 'domain', namespace: ns })
    : relationTargets(entity, 'partOf').map((r) => parseRef(r)).find((r) => r.kind === 'domain') ?? null;
  const sourceLocation = annotation(entity, 'backstage.io/source-location');
  const sourceUrl = locationUrl(sourceLocation);
  const viewUrl = annotation(entity, 'backstage.io/view-url') ?? sourceUrl;
  const editUrl = annotation(entity, 'backstage.io/edit-url');
  const links = Array.isArray(meta.links) ? meta.links : [];
  const managedBy = annotation(entity, 'backstage.io/managed-by-location');
  const kind = String(entity.kind).toLowerCase();
  const tags = Array.isArray(meta.tags) ? meta.tags : [];

  const actions = h('div', { class: 'card__actions' },
    viewUrl ? externalLink(viewUrl, 'View source') : null,
    editUrl ? externalLink(editUrl, 'Edit metadata') : null);
  for (const a of actions.querySelectorAll('a')) a.classList.add('button', 'button--secondary');

  return card('About',
    actions.childElementCount ? actions : null,
    definitionList([
      meta.description || OWNED_KINDS.has(kind)
        ? ['Description', meta.description ? h('p', { class: 'description' }, meta.description) : null, true] : null,
      OWNED_KINDS.has(kind) || ownerRefs.length
        ? ['Owner', ownerRefs.length ? ownerRefs.map((r, i) => [i ? ', ' : '', refLink(r, 'group')]) : null] : null,
      SYSTEM_KINDS.has(kind) || system ? ['System', system ? refLink(system, 'system') : null] : null,
      kind === 'system' || domainRef ? ['Domain', domainRef ? refLink(domainRef, 'domain') : null] : null,
      spec.type !== undefined || TYPED_KINDS.has(kind) ? ['Type', typeof spec.type === 'string' ? spec.type : null] : null,
      spec.lifecycle !== undefined || LIFECYCLE_KINDS.has(kind) ? ['Lifecycle', typeof spec.lifecycle === 'string' ? spec.lifecycle : null] : null,
      ['Namespace', ns ?? 'default'],
      ['Tags', tags.length ? h('ul', { class: 'tags' }, tags.map((t) => h('li', { class: 'tag' }, t))) : null],
      links.length ? ['Links', h('ul', { class: 'link-list link-list--inline' }, links.map((l) => h('li', {}, externalLink(l.url, l.title || l.url)))), true] : null,
      sourceLocation ? ['Source', sourceUrl ? externalLink(sourceUrl) : h('code', {}, sourceLocation), true] : null,
      managedBy && managedBy !== sourceLocation ? ['Managed by location', locationUrl(managedBy) ? externalLink(locationUrl(managedBy)) : h('code', {}, managedBy), true] : null,
    ]));
}

function relationsCard(entity) {
  const byType = new Map();
  for (const r of entity.relations ?? []) {
    if (!byType.has(r.type)) byType.set(r.type, []);
    if (!byType.get(r.type).includes(r.targetRef)) byType.get(r.type).push(r.targetRef);
  }
  const types = [...byType.keys()].sort();
  const lists = types.length
    ? h('dl', { class: 'relations' }, types.map((type) => h('div', { class: 'relations__group' },
      h('dt', {}, `${relationWords(type)} (${formatNumber(byType.get(type).length)})`),
      h('dd', {}, linkList(byType.get(type).sort()))))) : null;
  return card('Relations', relationsGraph(entity), lists);
}

function errorsCard(entity) {
  const items = Array.isArray(entity.status?.items) ? entity.status.items : [];
  if (items.length === 0) return null;
  const id = uniqueId('errors');
  return h('section', { class: 'card card--error', 'aria-labelledby': id, 'data-testid': 'processing-errors' },
    h('h2', { class: 'card__title', id }, `Processing errors (${items.length})`),
    h('p', {}, 'The catalog could not fully process this entity; what you see may be out of date.'),
    h('ul', { class: 'error-list' }, items.map((item) => h('li', {},
      h('strong', {}, item.error?.name ?? item.level ?? 'Error'), ': ',
      item.error?.message ?? item.message ?? JSON.stringify(item)))));
}

function definitionCard(entity) {
  const def = entity.spec?.definition;
  if (def === undefined || def === null) return null;
  const text = typeof def === 'string' ? def : toYaml(def);
  return card(`Definition${entity.spec?.type ? ` (${entity.spec.type})` : ''}`,
    h('pre', { class: 'code', tabindex: '0', 'aria-label': 'API definition' }, h('code', {}, text)));
}

function locationTargetsCard(entity) {
  const spec = entity.spec ?? {};
  const targets = [spec.target, ...(Array.isArray(spec.targets) ? spec.targets : [])].filter((t) => typeof t === 'string');
  if (!targets.length) return null;
  return card('Targets', h('ul', { class: 'link-list' }, targets.map((t) => h('li', {},
    /^https?:/.test(t) ? externalLink(t) : h('code', {}, t)))));
}

/** A card listing the entities a filtered query finds, one cursor page at a time. */
function queryCard(title, { filter, emptyText, catalogHref, signal, render }) {
  const body = h('div', {}, loadingState(`Loading ${title.toLowerCase()}…`));
  const summary = h('p', { class: 'muted' });
  const section = card(title, summary, body);
  section.dataset.testid = title.toLowerCase().replaceAll(' ', '-');
  const list = h('ul', { class: 'link-list link-list--entities' });
  const more = h('button', { type: 'button', class: 'button button--secondary' }, 'Show more');
  let shown = 0;
  const load = async (cursor) => {
    try {
      const page = await queryEntities({
        filter, fields: LIST_FIELDS, limit: QUERY_PAGE, orderField: 'metadata.name,asc', cursor, signal,
      });
      if (signal.aborted) return;
      if (!cursor) {
        if (page.items.length === 0) {
          body.replaceChildren(emptyState(emptyText));
          return;
        }
        summary.textContent = `${formatNumber(page.totalItems)} in total`;
        body.replaceChildren(list);
        if (catalogHref && page.totalItems > QUERY_PAGE) {
          body.append(h('p', {}, h('a', { href: catalogHref }, `Open all ${formatNumber(page.totalItems)} in the catalog`)));
        }
      }
      list.append(...page.items.map((e) => h('li', {}, render(e))));
      shown += page.items.length;
      if (page.pageInfo?.nextCursor) {
        more.onclick = () => {
          more.disabled = true;
          load(page.pageInfo.nextCursor).finally(() => { more.disabled = false; });
        };
        more.textContent = `Show more (${formatNumber(shown)} of ${formatNumber(page.totalItems)} shown)`;
        if (!more.isConnected) list.after(more);
      } else {
        more.remove();
      }
    } catch (error) {
      if (isAbort(error) || signal.aborted) return;
      body.replaceChildren(errorState(error, () => {
        body.replaceChildren(loadingState());
        load(cursor);
      }, `${title} could not be loaded`));
    }
  };
  load(undefined);
  return section;
}

function entityItem(e) {
  return [
    h('a', { href: entityPathOf(e) }, displayName(e)),
    h('span', { class: 'subtle' }, ` ${e.kind}${e.spec?.type ? ` · ${e.spec.type}` : ''}`),
  ];
}

function memberItem(e) {
  const email = e.spec?.profile?.email;
  return [
    h('a', { href: entityPathOf(e) }, displayName(e)),
    email ? h('span', { class: 'subtle' }, ` ${email}`) : null,
  ];
}

function ownedCard(entity, signal) {
  const ref = refOf(entity);
  return queryCard('Owned entities', {
    filter: `relations.ownedBy=${ref}`,
    emptyText: `${displayName(entity)} owns no entities.`,
    catalogHref: `/catalog?owner=${encodeURIComponent(ref.toLowerCase())}`,
    signal,
    render: entityItem,
  });
}

function groupCards(entity, signal) {
  const ref = refOf(entity);
  const parents = relationTargets(entity, 'childOf');
  const children = relationTargets(entity, 'parentOf');
  const profile = entity.spec?.profile ?? {};
  return [
    card('Group',
      definitionList([
        ['Display name', profile.displayName ?? null],
        ['Email', profile.email ? externalLink(`mailto:${profile.email}`, profile.email) : null],
        ['Parent group', parents.length ? parents.map((r, i) => [i ? ', ' : '', refLink(r, 'group')]) : null],
        ['Child groups', children.length ? linkList(children.sort(), 'group') : null, true],
      ])),
    queryCard('Members', {
      filter: `kind=user,relations.memberOf=${ref}`,
      emptyText: 'This group has no members.',
      signal,
      render: memberItem,
    }),
    ownedCard(entity, signal),
  ].map(narrow);
}

function userCards(entity, signal) {
  const profile = entity.spec?.profile ?? {};
  const groups = relationTargets(entity, 'memberOf');
  return [
    card('Profile',
      definitionList([
        ['Display name', profile.displayName ?? null],
        ['Email', profile.email ? externalLink(`mailto:${profile.email}`, profile.email) : null],
        ['Groups', groups.length ? linkList(groups.sort(), 'group') : null, true],
      ])),
    ownedCard(entity, signal),
  ].map(narrow);
}

function yamlCard(entity) {
  const id = uniqueId('yaml');
  return h('section', { class: 'card card--wide', 'aria-labelledby': id },
    h('details', { class: 'yaml' },
      h('summary', {}, h('h2', { class: 'card__title card__title--inline', id }, 'Raw YAML')),
      h('pre', { class: 'code', tabindex: '0', 'aria-label': 'Entity as YAML', 'data-testid': 'yaml' }, h('code', {}, toYaml(entity)))));
}

function notFound(ref) {
  const kind = String(ref.kind).toLowerCase();
  return h('div', { class: 'not-found', 'data-testid': 'entity-not-found' },
    h('p', {}, `There is no ${kind} named “${ref.name}” in namespace “${ref.namespace}”. It may have been removed, or the link may be wrong.`),
    h('p', { class: 'actions' },
      h('a', { class: 'button', href: '/catalog' }, 'Back to the catalog'),
      h('a', { class: 'button button--secondary', href: `/catalog?q=${encodeURIComponent(ref.name)}` }, `Search for “${ref.name}”`)));
}

export function mount(main, ctx) {
  let controller = null;

  function load(params, { focus = false } = {}) {
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    const ref = { kind: params.kind, namespace: params.namespace, name: params.name };
    const heading = h('h1', { tabindex: '-1' }, ref.name);
    const crumbs = h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
      h('ol', {},
        h('li', {}, h('a', { href: '/catalog' }, 'Catalog')),
        h('li', {}, h('a', { href: `/catalog?kind=${encodeURIComponent(ref.kind)}` }, ref.kind)),
        h('li', {}, h('span', { 'aria-current': 'page' }, ref.name))));
    const sub = h('p', { class: 'entity-ref' }, humanRef(ref));
    const badges = h('ul', { class: 'badges', 'aria-label': 'Kind, type and lifecycle' });
    const content = h('div', { class: 'entity-body' }, loadingState(`Loading ${humanRef(ref)}…`));
    main.replaceChildren(crumbs, h('div', { class: 'page-header page-header--entity' }, h('div', {}, heading, sub, badges)), content);
    main.setAttribute('aria-busy', 'true');
    ctx.setTitle(humanRef(ref));
    if (focus) {
      window.scrollTo(0, 0);
      heading.focus({ preventScroll: true });
    }

    getEntityByRef(ref, { signal }).then((entity) => {
      if (signal.aborted) return;
      main.removeAttribute('aria-busy');
      if (!entity) {
        heading.textContent = 'Entity not found';
        sub.textContent = humanRef(ref);
        ctx.setTitle('Entity not found');
        content.replaceChildren(notFound(ref));
        return;
      }
      const name = displayName(entity);
      heading.textContent = name;
      sub.textContent = refOf(entity);
      ctx.setTitle(name);
      badges.replaceChildren(...[entity.kind, entity.spec?.type, entity.spec?.lifecycle]
        .filter((b) => typeof b === 'string' && b)
        .map((b, i) => h('li', { class: i === 0 ? 'badge badge--kind' : 'badge' }, b)));
      const kind = String(entity.kind).toLowerCase();
      const cards = [
        errorsCard(entity),
        aboutCard(entity),
        ...(kind === 'group' ? groupCards(entity, signal) : []),
        ...(kind === 'user' ? userCards(entity, signal) : []),
        relationsCard(entity),
        kind === 'api' ? definitionCard(entity) : null,
        kind === 'location' ? locationTargetsCard(entity) : null,
        yamlCard(entity),
      ].filter(Boolean);
      content.replaceChildren(h('div', { class: 'cards' }, cards));
    }).catch((error) => {
      if (isAbort(error) || signal.aborted) return;
      main.removeAttribute('aria-busy');
      content.replaceChildren(errorState(error, () => load(params), 'This entity could not be loaded'));
    });
  }

  load(ctx.params);
  return {
    update(next) {
      load(next.params, { focus: true });
    },
    unmount() {
      controller?.abort();
      main.removeAttribute('aria-busy');
    },
  };
}
