// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- WebAssembly globals (no DOM lib here); followed by the agent's tsconfig too
/// <reference path="./webassembly.d.ts" />
import { HOST_BUILTINS, RawNumber, type EvaluationContext, type HostBuiltin } from './builtins/host-builtins';
import { parseRegoValue } from './builtins/rego-value';
import { PolicyEngineError, PolicyEngineErrorCode } from './errors';

/**
 * A host for OPA's WebAssembly ABI (1.2+: opa_eval), in the spirit of @open-policy-agent/opa-wasm but
 * with the engine's builtins first: the SDK's dispatch prefers its own sprintf (sprintf-js, which
 * prints an object as [object Object]) over any custom builtin, so it cannot be corrected from outside.
 * Owning the host also lets one decision write its input bytes straight into each policy's memory
 * (no re-serialization per policy) and find a result's end with indexOf instead of a byte loop.
 */

const PAGE = 64 * 1024;
/** opa_eval's output format: 0 JSON, 1 Rego values (opa_value_dump). */
const VALUE_FORMAT = 1;
const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

interface OpaExports {
  memory?: WebAssembly.Memory;
  opa_malloc(size: number): number;
  opa_json_parse(addr: number, len: number): number;
  opa_json_dump(addr: number): number;
  opa_value_dump(addr: number): number;
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(addr: number): void;
  opa_eval(reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heapPtr: number, format: number): number;
  builtins(): number;
  entrypoints(): number;
  opa_wasm_abi_version?: WebAssembly.Global | number;
  opa_wasm_abi_minor_version?: WebAssembly.Global | number;
}

export interface BundleInfo {
  /** Entrypoints the module was built with ("k8srequiredlabels/violation"). */
  entrypoints: string[];
  /** Builtins the module leaves to the host. */
  hostBuiltins: string[];
  /** Those of hostBuiltins the engine does not provide: such a bundle is refused (BUILTIN_UNSUPPORTED). */
  unsupportedBuiltins: string[];
  abiVersion: string;
}

const globalValue = (g: WebAssembly.Global | number | undefined) => (g === undefined ? undefined : typeof g === 'number' ? g : (g.value as number));

/** Checks the imports a compiled module asks for: OPA's env imports and nothing else. */
function checkImports(module: WebAssembly.Module): void {
  const allowed = new Set(['memory', 'opa_abort', 'opa_println', 'opa_builtin0', 'opa_builtin1', 'opa_builtin2', 'opa_builtin3', 'opa_builtin4']);
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== 'env' || !allowed.has(imp.name)) {
      throw new PolicyEngineError(PolicyEngineErrorCode.BUNDLE_INVALID, `not an OPA WebAssembly policy: it imports ${imp.module}.${imp.name}`);
    }
  }
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  for (const name of ['opa_eval', 'opa_malloc', 'opa_json_parse', 'opa_json_dump', 'opa_value_dump', 'opa_heap_ptr_get', 'opa_heap_ptr_set', 'builtins', 'entrypoints']) {
    if (!exports.has(name)) {
      throw new PolicyEngineError(PolicyEngineErrorCode.BUNDLE_INVALID, `not an OPA WebAssembly policy of ABI 1.2 or later: ${name} is not exported`);
    }
  }
}

/** One instance of a compiled policy with its own memory; not re-entrant (one evaluation at a time). */
export class WasmPolicy {
  readonly entrypoints: Readonly<Record<string, number>>;
  readonly hostBuiltins: readonly string[];
  readonly abiVersion: string;
  private readonly exports: OpaExports;
  private readonly memory: WebAssembly.Memory;
  private readonly builtinById: (HostBuiltin | undefined)[] = [];
  private readonly builtinNames: string[] = [];
  private bytes: Uint8Array;
  private baseHeapPtr: number;
  private dataAddr = 0;
  private dataHeapPtr: number;
  private context: EvaluationContext = {};
  /** Set when an evaluation trapped or aborted: the caller must drop this instance. */
  broken = false;
  /** Identity of the data document currently loaded (see setData). */
  dataKey: unknown = undefined;

  constructor(module: WebAssembly.Module, options: { maxMemoryBytes?: number } = {}) {
    checkImports(module);
    const maximum = Math.max(8, Math.floor((options.maxMemoryBytes ?? 256 * 1024 * 1024) / PAGE));
    let memory = new WebAssembly.Memory({ initial: Math.min(5, maximum), maximum });
    const builtinCall = (id: number, ...args: number[]) => this.callBuiltin(id, args);
    const env = {
      memory,
      opa_abort: (addr: number) => {
        throw new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, `policy aborted: ${this.readString(addr)}`);
      },
      opa_println: () => undefined,
      opa_builtin0: (id: number) => builtinCall(id),
      opa_builtin1: (id: number, _ctx: number, a: number) => builtinCall(id, a),
      opa_builtin2: (id: number, _ctx: number, a: number, b: number) => builtinCall(id, a, b),
      opa_builtin3: (id: number, _ctx: number, a: number, b: number, c: number) => builtinCall(id, a, b, c),
      opa_builtin4: (id: number, _ctx: number, a: number, b: number, c: number, d: number) => builtinCall(id, a, b, c, d),
    };
    let instance: WebAssembly.Instance | undefined;
    // The module declares its minimum memory, which the JS API does not tell: grow the import until it links.
    for (const initial of [5, 64, 512, 4096]) {
      try {
        instance = new WebAssembly.Instance(module, { env });
        break;
      } catch (error) {
        const tooSmall = error instanceof WebAssembly.LinkError && /memory/i.test(error.message) && initial * 8 <= maximum;
        if (!tooSmall) {
          throw new PolicyEngineError(PolicyEngineErrorCode.BUNDLE_INVALID, `the policy cannot be instantiated: ${(error as Error).message}`);
        }
        memory = new WebAssembly.Memory({ initial: Math.min(initial * 8, maximum), maximum });
        env.memory = memory;
      }
    }
    if (!instance) {
      throw new PolicyEngineError(PolicyEngineErrorCode.BUNDLE_INVALID, 'the policy needs more memory than the limit allows');
    }
    this.memory = memory;
    this.exports = instance.exports as unknown as OpaExports;
    this.bytes = new Uint8Array(this.memory.buffer);
    const major = globalValue(this.exports.opa_wasm_abi_version);
    const minor = globalValue(this.exports.opa_wasm_abi_minor_version) ?? 0;
    this.abiVersion = `${major}.${minor}`;
    if (major !== 1 || minor < 2) {
      throw new PolicyEngineError(PolicyEngineErrorCode.BUNDLE_INVALID, `OPA WebAssembly ABI ${this.abiVersion} is not supported (1.2 or later)`);
    }

    const builtins = this.dumpJson(this.exports.builtins()) as Record<string, number>;
    for (const [name, id] of Object.entries(builtins)) {
      this.builtinNames[id] = name;
      this.builtinById[id] = HOST_BUILTINS[name];
    }
    this.hostBuiltins = Object.keys(builtins).sort();
    this.entrypoints = this.dumpJson(this.exports.entrypoints()) as Record<string, number>;
    this.baseHeapPtr = this.exports.opa_heap_ptr_get();
    this.dataHeapPtr = this.baseHeapPtr;
    this.setData(textEncoder.encode('{}'), undefined);
  }

  info(): BundleInfo {
    return {
      entrypoints: Object.keys(this.entrypoints).sort(),
      hostBuiltins: [...this.hostBuiltins],
      unsupportedBuiltins: this.hostBuiltins.filter((name) => !HOST_BUILTINS[name]),
      abiVersion: this.abiVersion,
    };
  }

  /** Loads the data document (JSON bytes) every evaluation sees; key identifies it for reuse. */
  setData(json: Uint8Array, key: unknown): void {
    this.exports.opa_heap_ptr_set(this.baseHeapPtr);
    const addr = this.exports.opa_malloc(json.byteLength);
    this.view().set(json, addr);
    const parsed = this.exports.opa_json_parse(addr, json.byteLength);
    if (parsed === 0) {
      throw new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, 'the data document is not valid JSON');
    }
    this.dataAddr = parsed;
    this.dataHeapPtr = this.exports.opa_heap_ptr_get();
    this.dataKey = key;
  }

  /**
   * Evaluates an entrypoint over an input given as JSON byte pieces (concatenated in memory without a
   * copy in JavaScript). Returns the result set in OPA's value format (sets kept, so that a set in
   * details can be given in OPA's order): {{"result": {…}}}.
   */
  evaluate(entrypoint: number, inputParts: readonly Uint8Array[]): string {
    let length = 0;
    for (const p of inputParts) {
      length += p.byteLength;
    }
    const inputAddr = this.dataHeapPtr;
    const needed = inputAddr + length + PAGE;
    if (needed > this.memory.buffer.byteLength) {
      try {
        this.memory.grow(Math.ceil((needed - this.memory.buffer.byteLength) / PAGE));
      } catch {
        throw new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, `the input (${length} bytes) does not fit the policy's memory limit`);
      }
    }
    const view = this.view();
    let at = inputAddr;
    for (const p of inputParts) {
      view.set(p, at);
      at += p.byteLength;
    }
    this.context = {};
    try {
      const result = this.exports.opa_eval(0, entrypoint, this.dataAddr, inputAddr, length, inputAddr + length, VALUE_FORMAT);
      return this.readString(result);
    } catch (error) {
      this.broken = true;
      if (error instanceof PolicyEngineError) {
        throw error;
      }
      const message = error instanceof Error ? error.message : String(error);
      throw new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, `the policy failed: ${message}`);
    }
  }

  private view(): Uint8Array {
    if (this.bytes.buffer !== this.memory.buffer || this.bytes.byteLength === 0) {
      this.bytes = new Uint8Array(this.memory.buffer);
    }
    return this.bytes;
  }

  private readString(addr: number): string {
    const view = this.view();
    const end = view.indexOf(0, addr);
    return textDecoder.decode(view.subarray(addr, end === -1 ? view.length : end));
  }

  private dumpJson(addr: number): unknown {
    return JSON.parse(this.readString(this.exports.opa_json_dump(addr)));
  }

  private loadJson(text: string): number {
    // encode straight into the policy's memory: at most 3 bytes per UTF-16 unit
    const capacity = text.length * 3;
    const addr = this.exports.opa_malloc(capacity);
    const { written } = textEncoder.encodeInto(text, this.view().subarray(addr, addr + capacity));
    const parsed = this.exports.opa_json_parse(addr, written);
    if (parsed === 0) {
      throw new PolicyEngineError(PolicyEngineErrorCode.POLICY_EVALUATION_FAILED, 'a builtin returned a value that is not JSON');
    }
    return parsed;
  }

  private callBuiltin(id: number, argAddrs: number[]): number {
    const builtin = this.builtinById[id];
    if (!builtin) {
      throw new PolicyEngineError(PolicyEngineErrorCode.BUILTIN_UNSUPPORTED, `builtin ${this.builtinNames[id] ?? id} is not provided`, {
        builtins: [this.builtinNames[id] ?? String(id)],
      });
    }
    const args = builtin.args === 'value' ? argAddrs.map((a) => parseRegoValue(this.readString(this.exports.opa_value_dump(a)))) : argAddrs.map((a) => this.dumpJson(a));
    const result = (builtin.fn as (c: EvaluationContext, ...a: unknown[]) => unknown)(this.context, ...args);
    if (result === undefined) {
      return 0;
    } // undefined, as OPA's non-strict builtin errors
    return this.loadJson(result instanceof RawNumber ? result.text : JSON.stringify(result));
  }
}
