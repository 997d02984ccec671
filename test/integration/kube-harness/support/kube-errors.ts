/** The apiserver's Status message of a client-node ApiException (its body is Status JSON), else the error message. */
export function errorText(err: unknown): string {
  const e = err as { body?: unknown; message?: string } | undefined;
  let body = e?.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text;
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : String(e?.message ?? err);
}
