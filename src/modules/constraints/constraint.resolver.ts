import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../../common/graphql/current-principal.decorator';
import { Principal } from '../../common/graphql/request-context';
import type { Constraint } from '../../generated/prisma/client';
import { RequireRole, Role } from '../auth/roles';
import { PolicyTemplateVersionModel } from '../policy-templates/policy-template.model';
import { ConstraintConnection, ConstraintModel, ConstraintsArgs, CreateConstraintInput, ImportConstraintPayload, UpdateConstraintInput } from './constraint.model';
import { ConstraintService } from './constraint.service';

@Resolver(() => ConstraintModel)
export class ConstraintResolver {
  constructor(private readonly service: ConstraintService) {}

  @Query(() => ConstraintConnection)
  @RequireRole(Role.VIEWER)
  constraints(@CurrentPrincipal() principal: Principal, @Args() args: ConstraintsArgs) {
    return this.service.list(principal, args);
  }

  @Query(() => ConstraintModel)
  @RequireRole(Role.VIEWER)
  constraint(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.get(principal, id);
  }

  @Query(() => String, { description: 'The constraint as Gatekeeper YAML (constraints.gatekeeper.sh/v1beta1).' })
  @RequireRole(Role.VIEWER)
  exportConstraint(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string) {
    return this.service.exportConstraint(principal, id);
  }

  @Mutation(() => ConstraintModel, { description: "Parameters are checked against the version's schema; a DEPRECATED version is refused." })
  @RequireRole(Role.EDITOR)
  createConstraint(@CurrentPrincipal() principal: Principal, @Args('input') input: CreateConstraintInput) {
    return this.service.create(principal, input);
  }

  @Mutation(() => ConstraintModel)
  @RequireRole(Role.EDITOR)
  updateConstraint(@CurrentPrincipal() principal: Principal, @Args('id', { type: () => ID }) id: string, @Args('input') input: UpdateConstraintInput) {
    return this.service.update(principal, id, input);
  }

  @Mutation(() => ConstraintModel)
  @RequireRole(Role.EDITOR)
  deleteConstraint(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID }) id: string,
    @Args('urgent', { type: () => Boolean, nullable: true, description: "Urgent: clusters take it at once, outside their site's maintenance windows." }) urgent?: boolean,
  ) {
    return this.service.delete(principal, id, urgent ?? false);
  }

  @Mutation(() => ImportConstraintPayload, {
    description: "A Gatekeeper Constraint (kind = a template's kind; spec.parameters, spec.match, spec.enforcementAction); one of that name is updated.",
  })
  @RequireRole(Role.EDITOR)
  importConstraint(
    @CurrentPrincipal() principal: Principal,
    @Args('yaml') yaml: string,
    @Args('templateVersionId', { type: () => ID, nullable: true, description: "Default: the template's newest PUBLISHED version, else its newest DRAFT." })
    templateVersionId?: string,
  ) {
    return this.service.importConstraint(principal, yaml, templateVersionId);
  }

  @ResolveField(() => PolicyTemplateVersionModel)
  templateVersion(@Parent() constraint: Constraint, @CurrentPrincipal() principal: Principal) {
    return this.service.templateVersion(principal, constraint);
  }
}
