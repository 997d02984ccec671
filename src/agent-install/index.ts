export * from './manifests';
export * from './names';
export * from './rbac';
