// Entity references, as Backstage writes them: `kind:namespace/name`.

export const DEFAULT_NAMESPACE = 'default';

/** Parses `kind:namespace/name`, `kind:name`, `namespace/name` or `name`. */
export function parseRef(ref, defaults = {}) {
  let rest = String(ref).trim();
  let kind = defaults.kind;
  let namespace = defaults.namespace ?? DEFAULT_NAMESPACE;
  const colon = rest.indexOf(':');
  if (colon > 0) {
    kind = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
  }
  const slash = rest.indexOf('/');
  if (slash > 0) {
    namespace = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  return { kind, namespace, name: rest };
}

export function stringifyRef({ kind, namespace, name }) {
  return `${String(kind).toLowerCase()}:${namespace || DEFAULT_NAMESPACE}/${name}`;
}

export function refOf(entity) {
  return stringifyRef({
    kind: entity.kind,
    namespace: entity.metadata?.namespace,
    name: entity.metadata?.name,
  });
}

/** `kind:name`, leaving out the default namespace, and the kind when it is `hideKind`. */
export function humanRef(ref, hideKind) {
  const r = typeof ref === 'string' ? parseRef(ref) : ref;
  const ns = r.namespace && r.namespace !== DEFAULT_NAMESPACE ? `${r.namespace}/` : '';
  const kind = r.kind && String(r.kind).toLowerCase() !== String(hideKind ?? '').toLowerCase()
    ? `${String(r.kind).toLowerCase()}:` : '';
  return `${kind}${ns}${r.name}`;
}

/** The page of an entity: /catalog/:namespace/:kind/:name (kind lower-cased, as Backstage). */
export function entityPath(ref) {
  const r = typeof ref === 'string' ? parseRef(ref) : ref;
  return `/catalog/${encodeURIComponent(r.namespace || DEFAULT_NAMESPACE)}/${encodeURIComponent(String(r.kind).toLowerCase())}/${encodeURIComponent(r.name)}`;
}

export function entityPathOf(entity) {
  return entityPath({ kind: entity.kind, namespace: entity.metadata?.namespace, name: entity.metadata?.name });
}

/** What a person calls an entity: its title, a user's display name, else its name. */
export function displayName(entity) {
  return entity.metadata?.title || entity.spec?.profile?.displayName || entity.metadata?.name || '';
}

/** Relation types in words, for lists and graph labels. */
const RELATION_WORDS = {
  ownedBy: 'owned by',
  ownerOf: 'owner of',
  partOf: 'part of',
  hasPart: 'has part',
  memberOf: 'member of',
  hasMember: 'has member',
  childOf: 'child of',
  parentOf: 'parent of',
  dependsOn: 'depends on',
  dependencyOf: 'dependency of',
  providesApi: 'provides API',
  apiProvidedBy: 'API provided by',
  consumesApi: 'consumes API',
  apiConsumedBy: 'API consumed by',
};

export function relationWords(type) {
  return RELATION_WORDS[type] ?? type.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}
