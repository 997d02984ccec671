import { Module } from '@nestjs/common';
import { GenerationRepository } from './generation.repository';

/** The desired-state generation bumps, for every module whose changes affect what clusters enforce. Imports nothing, so any module may import it. */
@Module({ providers: [GenerationRepository], exports: [GenerationRepository] })
export class GenerationsModule {}
