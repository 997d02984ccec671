import type { ApolloServerPlugin } from '@apollo/server';
import { MetricsService } from './metrics.service';

/** Counts GraphQL operations by type, name and whether they returned errors. */
export function graphqlMetricsPlugin(metrics: MetricsService): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, operationName, errors }) {
          metrics.graphqlOperations.inc({ type: operation?.operation ?? 'unknown', name: operationName ?? 'anonymous', outcome: errors?.length ? 'error' : 'ok' });
        },
      };
    },
  };
}
