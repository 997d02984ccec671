import { Module } from '@nestjs/common';
import { WorkspaceRepository } from './workspace.repository';
import { WorkspaceResolver } from './workspace.resolver';
import { WorkspaceService } from './workspace.service';

@Module({ providers: [WorkspaceRepository, WorkspaceService, WorkspaceResolver], exports: [WorkspaceRepository] })
export class WorkspacesModule {}
