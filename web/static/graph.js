// The relations of one entity as a small SVG graph: the entity in the middle, its related
// entities around it, each a link to its page. Wide screens get three columns; narrow ones a
// tree that reads top to bottom.

import { h, svg, uniqueId } from './dom.js';
import { displayName, entityPath, humanRef, parseRef, relationWords } from './refs.js';

const MAX_NODES = 24;
const TYPE_ORDER = [
  'ownedBy', 'partOf', 'memberOf', 'childOf', 'parentOf', 'hasMember', 'hasPart',
  'providesApi', 'consumesApi', 'dependsOn', 'dependencyOf', 'apiProvidedBy', 'apiConsumedBy', 'ownerOf',
];

const NODE_W = 200;
const NODE_H = 46;
const GAP = 12;
const CENTER_W = 220;
const CENTER_H = 58;
const COL_GAP = 84;
const PAD = 12;

function typeRank(type) {
  const i = TYPE_ORDER.indexOf(type);
  return i < 0 ? TYPE_ORDER.length : i;
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Items ordered so that each kind of target takes its turn (api, component, system, …). */
function interleaveByKind(relations) {
  const byKind = new Map();
  for (const r of relations) {
    const kind = parseRef(r.targetRef).kind ?? '';
    if (!byKind.has(kind)) byKind.set(kind, []);
    byKind.get(kind).push(r);
  }
  const queues = [...byKind.values()];
  const out = [];
  while (out.length < relations.length) {
    for (const q of queues) if (q.length) out.push(q.shift());
  }
  return out;
}

/**
 * Unique relations, most telling types first. At most MAX_NODES: when crowded, every type
 * and every kind of target within a type takes its turn, so the picture stays representative.
 */
export function graphEdges(relations) {
  const seen = new Set();
  const all = [];
  for (const r of relations ?? []) {
    const key = `${r.type} ${r.targetRef}`;
    if (!seen.has(key)) {
      seen.add(key);
      all.push(r);
    }
  }
  all.sort((a, b) => typeRank(a.type) - typeRank(b.type) || a.type.localeCompare(b.type)
    || a.targetRef.localeCompare(b.targetRef));
  if (all.length <= MAX_NODES) return { shown: all, total: all.length };
  const byType = new Map();
  for (const r of all) {
    if (!byType.has(r.type)) byType.set(r.type, []);
    byType.get(r.type).push(r);
  }
  const queues = [...byType.values()].map(interleaveByKind);
  const picked = new Set();
  while (picked.size < MAX_NODES) {
    for (const q of queues) if (q.length && picked.size < MAX_NODES) picked.add(q.shift());
  }
  const order = new Map([...byType.values()].flatMap((list) => interleaveByKind(list)).map((r, i) => [r, i]));
  const shown = [...picked].sort((a, b) => order.get(a) - order.get(b));
  return { shown, total: all.length };
}

function nodeLink(rel, x, y, width) {
  const target = parseRef(rel.targetRef);
  const words = relationWords(rel.type);
  const label = `${words}: ${humanRef(rel.targetRef)}`;
  const maxName = Math.floor((width - 20) / 7.6);
  const maxRel = Math.floor((width - 20) / 6.2);
  return svg('a', {
    href: entityPath(target),
    class: 'graph__node',
    'aria-label': label,
    'data-ref': rel.targetRef,
    'data-relation': rel.type,
  },
  svg('title', {}, label),
  svg('rect', { x, y, width, height: NODE_H, rx: 6 }),
  svg('text', { x: x + 10, y: y + 17, class: 'graph__rel' }, truncate(`${words} · ${String(target.kind).toLowerCase()}`, maxRel)),
  svg('text', { x: x + 10, y: y + 36, class: 'graph__name' }, truncate(humanRef({ ...target, kind: undefined }), maxName)));
}

function centerNode(entity, x, y, width) {
  const maxName = Math.floor((width - 20) / 8.4);
  return svg('g', { class: 'graph__center' },
    svg('rect', { x, y, width, height: CENTER_H, rx: 8 }),
    svg('text', { x: x + 12, y: y + 21, class: 'graph__rel' }, entity.kind),
    svg('text', { x: x + 12, y: y + 43, class: 'graph__name' }, truncate(displayName(entity), maxName)));
}

function arrowDefs(id) {
  return svg('defs', {},
    svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'graph__arrowhead' })));
}

function wideLayout(entity, edges, markerId) {
  // In type order: the first half on the left, the rest on the right.
  const half = Math.ceil(edges.length / 2);
  const left = edges.slice(0, half);
  const right = edges.slice(half);
  const rows = Math.max(left.length, right.length);
  const colHeight = (n) => n * NODE_H + Math.max(0, n - 1) * GAP;
  const height = Math.max(colHeight(rows), CENTER_H) + 2 * PAD;
  const leftX = PAD;
  const centerX = leftX + NODE_W + COL_GAP;
  const rightX = centerX + CENTER_W + COL_GAP;
  const width = right.length ? rightX + NODE_W + PAD : centerX + CENTER_W + PAD;
  const centerY = (height - CENTER_H) / 2;
  const lines = [];
  const nodes = [];
  const place = (column, x, fromX, toSide) => {
    const top = (height - colHeight(column.length)) / 2;
    column.forEach((rel, i) => {
      const y = top + i * (NODE_H + GAP);
      lines.push(svg('line', {
        x1: fromX, y1: centerY + CENTER_H / 2, x2: toSide(x), y2: y + NODE_H / 2,
        class: 'graph__edge', 'marker-end': `url(#${markerId})`,
      }));
      nodes.push(nodeLink(rel, x, y, NODE_W));
    });
  };
  place(left, leftX, centerX, (x) => x + NODE_W);
  place(right, rightX, centerX + CENTER_W, (x) => x);
  return { width, height, children: [...lines, centerNode(entity, centerX, centerY, CENTER_W), ...nodes] };
}

function narrowLayout(entity, edges, markerId) {
  const width = 320;
  const indent = 30;
  const nodeW = width - 2 * PAD - indent;
  const trunkX = PAD + 14;
  const lines = [];
  const nodes = [];
  let y = PAD + CENTER_H + GAP + 4;
  // One continuous trunk down from the entity, a branch to each related entity.
  let from = PAD + CENTER_H;
  for (const rel of edges) {
    const mid = y + NODE_H / 2;
    lines.push(svg('path', {
      d: `M${trunkX},${from} V${mid} H${PAD + indent}`,
      class: 'graph__edge', fill: 'none', 'marker-end': `url(#${markerId})`,
    }));
    nodes.push(nodeLink(rel, PAD + indent, y, nodeW));
    from = mid;
    y += NODE_H + GAP;
  }
  const height = y - GAP + PAD;
  return { width, height, children: [...lines, centerNode(entity, PAD, PAD, width - 2 * PAD), ...nodes] };
}

function build(entity, narrow) {
  const { shown, total } = graphEdges(entity.relations);
  if (total === 0) return h('p', { class: 'muted' }, 'This entity has no relations.');
  const markerId = uniqueId('arrow');
  const layout = narrow ? narrowLayout(entity, shown, markerId) : wideLayout(entity, shown, markerId);
  const titleId = uniqueId('graph-title');
  const graph = svg('svg', {
    viewBox: `0 0 ${layout.width} ${layout.height}`,
    width: layout.width,
    height: layout.height,
    role: 'group',
    'aria-labelledby': titleId,
    class: narrow ? 'graph__svg graph__svg--narrow' : 'graph__svg',
    'data-layout': narrow ? 'narrow' : 'wide',
  },
  svg('title', { id: titleId }, `Relations of ${displayName(entity)}`),
  arrowDefs(markerId),
  ...layout.children);
  return h('figure', { class: 'graph__figure' },
    graph,
    h('figcaption', { class: 'muted' }, total > shown.length
      ? `Showing ${shown.length} of ${total} relations; all of them are listed below. Select an entity to open it.`
      : 'Select an entity to open it.'));
}

/** The graph, redrawn when the screen crosses the narrow/wide boundary. */
export function relationsGraph(entity) {
  const wrapper = h('div', { class: 'graph' });
  const narrow = window.matchMedia('(max-width: 44rem)');
  const draw = () => wrapper.replaceChildren(build(entity, narrow.matches));
  const onChange = () => {
    if (!wrapper.isConnected) {
      narrow.removeEventListener('change', onChange);
      return;
    }
    draw();
  };
  narrow.addEventListener('change', onChange);
  draw();
  return wrapper;
}
