/**
 * Serialises async work. A PKCS#11 session rejects a second operation while one is active
 * (CKR_OPERATION_ACTIVE), so every token call goes through one of these.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
