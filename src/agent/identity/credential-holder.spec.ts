import { testCredential } from '../testing/loops';
import { CredentialHolder } from './credential-holder';

describe(CredentialHolder.name, () => {
  it('hands every reader the credential rotation put in last', () => {
    const holder = new CredentialHolder(testCredential());
    const rotated = testCredential({ credential: 'fpc_rotated_credential_00002' });
    holder.replace(rotated);
    expect(holder.current).toBe(rotated);
    expect(holder.clusterId).toBe(rotated.clusterId);
  });

  it('refuses a credential of another cluster', () => {
    const holder = new CredentialHolder(testCredential());
    const other = testCredential({ clusterId: '3f8e0000-0000-4000-8000-000000000009', credential: 'fpc_other_cluster_credential' });
    expect(() => holder.replace(other)).toThrow('belongs to cluster 3f8e0000-0000-4000-8000-000000000009');
    expect(holder.current.credential).toBe('fpc_preexisting_credential_0001');
  });
});
