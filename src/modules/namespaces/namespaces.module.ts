import { Module } from '@nestjs/common';
import { ClustersModule } from '../clusters/clusters.module';
import { WorkspacesModule } from '../workspaces/workspaces.module';
import { NamespaceRepository } from './namespace.repository';
import { NamespaceResolver } from './namespace.resolver';
import { NamespaceService } from './namespace.service';

@Module({ imports: [ClustersModule, WorkspacesModule], providers: [NamespaceRepository, NamespaceService, NamespaceResolver], exports: [NamespaceRepository] })
export class NamespacesModule {}
