import { hashSecret, looksLikeSecret, newSecret } from '../../common/crypto/secrets';

export const newApiTokenSecret = () => newSecret('fpt_');
export const hashApiTokenSecret = hashSecret;
export const looksLikeApiToken = (value: string) => looksLikeSecret('fpt_', value);
