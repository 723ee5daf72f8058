// JSON → YAML for showing entities as their authors write them. Block style; strings are left
// plain when YAML would read them back as the same string, else quoted; multi-line strings
// become literal blocks.

const RESERVED = /^(?:true|false|yes|no|on|off|y|n|null|~)$/i;
const NUMBER_LIKE = /^[-+]?(?:\.?[0-9]|\.(?:inf|nan)$)|^0[xob]/i;
const INDICATOR_START = /^[-?:,[\]{}#&*!|>'"%@`\s]/;
// Control characters other than tab, line feed; also the YAML-special line separators.
const NEEDS_ESCAPE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

function needsQuotes(s) {
  return s === ''
    || RESERVED.test(s)
    || NUMBER_LIKE.test(s)
    || INDICATOR_START.test(s)
    || /\s$/.test(s)
    || s.includes(': ')
    || s.includes(' #')
    || s.endsWith(':')
    || s.includes('\t')
    || s.includes('\n')
    || NEEDS_ESCAPE.test(s);
}

export function scalar(s) {
  if (!needsQuotes(s)) return s;
  if (s.includes('\n') || s.includes('\t') || NEEDS_ESCAPE.test(s)) return JSON.stringify(s);
  return `'${s.replaceAll("'", "''")}'`;
}

function isBlockCandidate(s) {
  return s.includes('\n') && !NEEDS_ESCAPE.test(s) && !s.includes('\r');
}

/** Header and indented lines of a literal block scalar. */
function literalBlock(s, indent) {
  const trailing = s.match(/\n*$/)[0].length;
  const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
  const body = trailing === 0 ? s : s.slice(0, s.length - (chomp === '+' ? 0 : trailing));
  const lines = body.split('\n');
  if (chomp === '+') lines.pop();
  const pad = ' '.repeat(indent);
  // A first line starting with a space needs an explicit indentation indicator.
  const indicator = /^[ \t]/.test(lines.find((line) => line !== '') ?? '') ? '2' : '';
  return {
    header: `|${indicator}${chomp}`,
    lines: lines.map((line) => (line === '' ? '' : pad + line)),
  };
}

function isScalar(v) {
  return v === null || typeof v !== 'object';
}

function inline(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return scalar(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (typeof v === 'object' && Object.keys(v).length === 0) return '{}';
  return null;
}

/** Lines of `value` as a block node at `indent` spaces. */
function block(value, indent) {
  const pad = ' '.repeat(indent);
  const out = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const simple = inline(item);
      if (simple !== null && !(typeof item === 'string' && isBlockCandidate(item))) {
        out.push(`${pad}- ${simple}`);
      } else if (typeof item === 'string') {
        const b = literalBlock(item, indent + 2);
        out.push(`${pad}- ${b.header}`, ...b.lines);
      } else {
        const inner = block(item, indent + 2);
        inner[0] = `${pad}- ${inner[0].slice(indent + 2)}`;
        out.push(...inner);
      }
    }
    return out;
  }
  for (const [key, item] of Object.entries(value)) {
    const k = scalar(key);
    if (typeof item === 'string' && isBlockCandidate(item)) {
      const b = literalBlock(item, indent + 2);
      out.push(`${pad}${k}: ${b.header}`, ...b.lines);
      continue;
    }
    const simple = inline(item);
    if (simple !== null) {
      out.push(`${pad}${k}: ${simple}`);
    } else if (Array.isArray(item)) {
      // Sequences under a key sit at the key's indentation, as most people write them.
      out.push(`${pad}${k}:`, ...block(item, indent));
    } else {
      out.push(`${pad}${k}:`, ...block(item, indent + 2));
    }
  }
  return out;
}

export function toYaml(value) {
  if (isScalar(value) || inline(value) !== null) {
    if (typeof value === 'string' && isBlockCandidate(value)) {
      const b = literalBlock(value, 2);
      return `${b.header}\n${b.lines.join('\n')}\n`;
    }
    return `${inline(value)}\n`;
  }
  return `${block(value, 0).join('\n')}\n`;
}
