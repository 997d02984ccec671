import { GenerationsModule } from '../desired-state/generations.module';
import { Module } from '@nestjs/common';
import { ClusterGroupRepository } from './cluster-group.repository';
import { ClusterGroupResolver } from './cluster-group.resolver';
import { ClusterGroupService } from './cluster-group.service';

@Module({ imports: [GenerationsModule], providers: [ClusterGroupRepository, ClusterGroupService, ClusterGroupResolver], exports: [ClusterGroupRepository] })
export class ClusterGroupsModule {}
