import { FarpointError } from '../../../src/common/errors/farpoint-error';

/** The FarpointError a service call is refused with (fails the test when it succeeds or throws anything else). */
export async function refusal(call: Promise<unknown>): Promise<FarpointError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FarpointError);
  return error as FarpointError;
}
