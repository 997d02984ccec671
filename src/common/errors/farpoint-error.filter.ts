import { Catch } from '@nestjs/common';
import { GqlExceptionFilter } from '@nestjs/graphql';
import { FarpointError } from './farpoint-error';

/**
 * Hands user mistakes straight to the GraphQL error formatter. Without it Nest logs every
 * FarpointError as an unexpected exception, burying real failures under bad input.
 */
@Catch(FarpointError)
export class FarpointErrorFilter implements GqlExceptionFilter {
  catch(error: FarpointError): FarpointError {
    return error;
  }
}
