/** The rejection of a promise: what a refused call threw (fails the test if the call succeeded). */
export async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal, but it was accepted');
}
