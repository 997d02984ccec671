import { Module } from '@nestjs/common';
import { GenerationsModule } from '../desired-state/generations.module';
import { ClustersModule } from '../clusters/clusters.module';
import { WorkspacesModule } from '../workspaces/workspaces.module';
import { NamespaceRepository } from './namespace.repository';
import { NamespaceResolver } from './namespace.resolver';
import { NamespaceService } from './namespace.service';

@Module({ imports: [ClustersModule, WorkspacesModule, GenerationsModule], providers: [NamespaceRepository, NamespaceService, NamespaceResolver], exports: [NamespaceRepository] })
export class NamespacesModule {}
