import * as graphene from 'graphene-pk11';
import { resolve } from 'node:path';
import { CKR, pkcs11Code } from './pkcs11-errors.js';
import { TokenError } from './errors.js';

/**
 * A PKCS#11 library is process-global: C_Initialize once, C_Finalize once, and SoftHSM2 reads
 * SOFTHSM2_CONF only inside C_Initialize. So every Token of this process shares one loaded module
 * per library path, counted by reference; the last close finalises it, which lets a later open
 * (tests, provisioning) point SoftHSM2 at another configuration.
 */
interface LoadedModule {
  readonly module: graphene.Module;
  readonly softhsmConf: string | undefined;
  refs: number;
}

const loaded = new Map<string, LoadedModule>();

export interface ModuleLease {
  readonly module: graphene.Module;
  release(): void;
}

export function acquireModule(library: string, softhsmConf: string | undefined): ModuleLease {
  const key = resolve(library);
  const conf = softhsmConf ? resolve(softhsmConf) : undefined;
  let entry = loaded.get(key);
  if (entry && conf !== undefined && entry.softhsmConf !== conf) {
    throw new TokenError(
      'TOKEN_CONFIG',
      `${library} is already initialised in this process with SOFTHSM2_CONF=${entry.softhsmConf ?? '(unset)'}; ` +
        `cannot switch to ${conf} until every token on it is closed`,
    );
  }
  if (!entry) {
    // Must be set before C_Initialize: SoftHSM2 reads it there and nowhere else.
    if (conf !== undefined) process.env.SOFTHSM2_CONF = conf;
    let module: graphene.Module;
    try {
      module = graphene.Module.load(key, 'pruem');
    } catch (e) {
      throw new TokenError('TOKEN_MODULE', `cannot load PKCS#11 module ${library}: ${(e as Error).message}`);
    }
    try {
      module.initialize();
    } catch (e) {
      if (pkcs11Code(e) !== CKR.CRYPTOKI_ALREADY_INITIALIZED) {
        safeClose(module);
        throw new TokenError('TOKEN_MODULE', `C_Initialize failed for ${library}: ${(e as Error).message}`);
      }
    }
    entry = { module, softhsmConf: conf ?? process.env.SOFTHSM2_CONF, refs: 0 };
    loaded.set(key, entry);
  }
  entry.refs += 1;
  const held = entry;
  let released = false;
  return {
    module: held.module,
    release() {
      if (released) return;
      released = true;
      held.refs -= 1;
      if (held.refs === 0) {
        loaded.delete(key);
        try {
          held.module.finalize();
        } catch {
          // finalising a module whose device vanished must not stop the daemon from shutting down
        }
        safeClose(held.module);
      }
    },
  };
}

function safeClose(module: graphene.Module): void {
  try {
    module.close();
  } catch {
    // already closed
  }
}
