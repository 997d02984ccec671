import { FarpointError } from '../errors/farpoint-error';

/**
 * Kubernetes label selectors (`tier=edge,env in (prod,stage),!canary`), parsed into requirements.
 * Semantics follow k8s.io/apimachinery/pkg/labels: `!=` and `notin` also match objects without the key.
 */
export type LabelRequirement =
  { key: string; op: 'eq' | 'neq'; value: string } | { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | 'notexists' };

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key "${key}" has an invalid prefix (a DNS subdomain of at most 253 characters)`;
  }
  if (!NAME.test(name)) {
    return `label key "${key}" must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '' || NAME.test(value)) {
    return undefined;
  }
  return `label value "${value}" must be at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

/** Splits on commas that are not inside a parenthesised set. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') {
      depth++;
    }
    if (ch === ')') {
      depth--;
    }
    if (depth < 0) {
      throw FarpointError.badInput(`Label selector "${selector}" has an unmatched ')'.`, 'labelSelector');
    }
    if (ch === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) {
    throw FarpointError.badInput(`Label selector "${selector}" has an unclosed '('.`, 'labelSelector');
  }
  terms.push(current.trim());
  return terms;
}

/**
 * Bounds on one selector: each term becomes a SQL condition (and each set value a parameter), so an
 * unbounded selector would be an unbounded query.
 */
const LabelSelectorLimits = { maxLength: 4096, maxTerms: 32, maxValuesPerSet: 64 } as const;

export function parseLabelSelector(selector: string): LabelRequirement[] {
  if (selector.trim() === '') {
    return [];
  }
  if (selector.length > LabelSelectorLimits.maxLength) {
    throw FarpointError.badInput(`A label selector may be at most ${LabelSelectorLimits.maxLength} characters; this one has ${selector.length}.`, 'labelSelector');
  }
  const fail = (why: string) => FarpointError.badInput(`Invalid label selector "${selector}": ${why}.`, 'labelSelector');
  const terms = splitTerms(selector);
  if (terms.length > LabelSelectorLimits.maxTerms) {
    throw fail(`it has ${terms.length} terms; at most ${LabelSelectorLimits.maxTerms} are allowed`);
  }
  return terms.map((term): LabelRequirement => {
    if (term === '') {
      throw fail('it has an empty term');
    }
    let match: RegExpMatchArray | null;
    let requirement: LabelRequirement;
    if ((match = term.match(/^!\s*([^\s=!(),]+)$/))) {
      requirement = { key: match[1], op: 'notexists' };
    } else if ((match = term.match(/^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/))) {
      const values = match[3].split(',').map((v) => v.trim());
      if (values.length === 1 && values[0] === '') {
        throw fail(`"${term}" needs at least one value`);
      }
      if (values.length > LabelSelectorLimits.maxValuesPerSet) {
        throw fail(`"${match[1]} ${match[2]} (…)" has ${values.length} values; at most ${LabelSelectorLimits.maxValuesPerSet} are allowed`);
      }
      requirement = { key: match[1], op: match[2] as 'in' | 'notin', values };
    } else if ((match = term.match(/^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/))) {
      requirement = { key: match[1], op: match[2] === '!=' ? 'neq' : 'eq', value: match[3] };
    } else if ((match = term.match(/^([^\s=!(),]+)$/))) {
      requirement = { key: match[1], op: 'exists' };
    } else {
      throw fail(`cannot understand "${term}"`);
    }

    const keyProblem = labelKeyProblem(requirement.key);
    if (keyProblem) {
      throw fail(keyProblem);
    }
    const values = 'values' in requirement ? requirement.values : 'value' in requirement ? [requirement.value] : [];
    for (const value of values) {
      const problem = labelValueProblem(value);
      if (problem) {
        throw fail(problem);
      }
    }
    return requirement;
  });
}

/** In-memory evaluation, same semantics as the SQL translation (used by the agent and by tests). */
export function matchesLabels(requirements: LabelRequirement[], labels: Record<string, string>): boolean {
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.op) {
      case 'eq':
        return has && labels[r.key] === r.value;
      case 'neq':
        return !has || labels[r.key] !== r.value;
      case 'in':
        return has && r.values.includes(labels[r.key]);
      case 'notin':
        return !has || !r.values.includes(labels[r.key]);
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
  });
}
