/**
 * Agent protocol v1: the wire contract between the in-cluster agent and the API. Plain TypeScript
 * and zod only, so both the agent and the API import it.
 */
export * from './canonical-json';
export * from './common';
export * from './desired-state';
export * from './detach';
export * from './errors';
export * from './inventory';
export * from './limits';
export * from './parse';
export * from './paths';
export * from './register';
export * from './renewal';
export * from './reports';
export * from './openapi';
