/**
 * Tells which store transaction, if any, the code running now belongs to, across its awaits: a
 * transaction that fails must take back its own changes only, not those that other units of
 * the same run recorded while it was open.
 *
 * Uses Node's AsyncLocalStorage, reached through `process.getBuiltinModule` rather than an import
 * so that core keeps no Node-only import (the VS Code extension bundles it). Where the runtime has
 * none, every change recorded while a transaction is open counts as the transaction's own, as
 * before: safe for one unit at a time.
 */
export interface TransactionScope {
  run<T>(token: object, work: () => T): T;
  current(): object | undefined;
}

interface AsyncLocalStorageLike {
  run<T>(store: object, callback: () => T): T;
  getStore(): object | undefined;
}

type AsyncHooksModule = { AsyncLocalStorage: new () => AsyncLocalStorageLike };

export function createTransactionScope(): TransactionScope | null {
  const getBuiltinModule = (
    globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
  ).process?.getBuiltinModule;
  const hooks = getBuiltinModule?.('node:async_hooks') as AsyncHooksModule | undefined;
  if (!hooks?.AsyncLocalStorage) return null;
  const storage = new hooks.AsyncLocalStorage();
  return {
    run: (token, work) => storage.run(token, work),
    current: () => storage.getStore(),
  };
}
