import { ConfigError, loadConfig } from './app-config';

const valid = { DATABASE_URL: 'postgresql://u@localhost:5432/db', REDIS_URL: 'redis://localhost:6379' };

describe(loadConfig.name, () => {
  it('applies defaults to a minimal valid environment', () => {
    const config = loadConfig(valid);
    expect(config.PORT).toBe(4000);
    expect(config.publicUrl).toBe('http://127.0.0.1:4000');
  });

  it('lists every bad variable at once instead of stopping at the first', () => {
    let error: unknown;
    try {
      loadConfig({ REDIS_URL: 'http://nope', PORT: '70000', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('DATABASE_URL is required but not set');
    expect(problems).toContain('REDIS_URL');
    expect(problems).toContain('PORT');
    expect(problems).toContain('LOG_LEVEL');
    expect((error as ConfigError).problems).toHaveLength(4);
  });
});
