export * from './manifests';
export * from './names';
