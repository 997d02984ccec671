import { FarpointError } from '../errors/farpoint-error';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Object names are DNS labels, like Kubernetes names: they end up in URLs, labels and kubectl output. */
export function assertName(name: string, field = 'name'): string {
  if (!DNS_LABEL.test(name)) {
    throw FarpointError.badInput(`"${name}" is not a valid ${field}: use 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit.`, field);
  }
  return name;
}

export function assertText(value: string | null | undefined, field: string, max = 256): void {
  if (value == null) {
    return;
  }
  if (value.trim() === '' || value.length > max) {
    throw FarpointError.badInput(`${field} must be 1-${max} characters.`, field);
  }
}
