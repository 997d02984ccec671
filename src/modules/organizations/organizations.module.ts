import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { OrganizationRepository } from './organization.repository';
import { OrganizationResolver } from './organization.resolver';
import { OrganizationService } from './organization.service';

@Module({ imports: [AuthModule], providers: [OrganizationRepository, OrganizationService, OrganizationResolver], exports: [OrganizationService] })
export class OrganizationsModule {}
