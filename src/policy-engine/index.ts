// The policy engine: Gatekeeper's contract implemented once, for the API and the agent. No NestJS,
// Prisma, BullMQ or Redis here (see .dependency-cruiser.cjs); files that evaluate import no YAML parser.
export * from './types';
export * from './errors';
export { parseConstraintTemplate, regoPackage, entrypointForPackage } from './template';
export { parseConstraint, parseConstraintMatch } from './constraint';
export { matchesConstraint, globMatches, selectorMatches } from './match';
export { assertKubernetesObject, reviewForObject, groupVersionKind } from './kubernetes';
export { parseYamlObject } from './yaml-document';
export { parseSyncRequirements, REQUIRES_SYNC_DATA_ANNOTATION, MAX_SYNC_KINDS, type SyncKind } from './sync-requirements';
export { PolicyEngine, bundleSha256, inspectBundle, type PolicyEngineOptions, type EvaluateOptions } from './engine';
export type { BundleInfo } from './wasm-host';
export { SUPPORTED_HOST_BUILTINS } from './builtins/host-builtins';
export { validateParameters } from './parameters-schema';
export { runSuite, type SuiteReport, type SuiteTestReport, type SuiteCaseReport, type TemplateCompiler } from './suite';
export { EvaluationPool, type EvaluationPoolOptions, type PoolEvaluation } from './evaluation-pool';
