import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProjectRoot } from '../../infra/database/migrator';

/** The agent version this API installs: the package version (the agent image is tagged with it). */
export const AGENT_VERSION: string = (JSON.parse(readFileSync(join(findProjectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
