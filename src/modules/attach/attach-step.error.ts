/** Failures of the attach job's own steps, classified by code (never by their message). */
export type AttachStepCode = 'AGENT_DID_NOT_REGISTER';

/** A step of the attach job that failed with a sentence meant for operators (shown as the operation's lastError). */
export class AttachStepError extends Error {
  constructor(
    readonly code: AttachStepCode,
    message: string,
  ) {
    super(message);
    this.name = 'AttachStepError';
  }
}
