// Types for native-tools.mjs (plain JavaScript so the install script needs no compiler).
export type BuildStep = 'cmake' | 'gyp';
export interface BuildPlan {
  steps: BuildStep[];
  keepPrebuild: boolean;
  fallbackToPrebuild: boolean;
  error?: string;
}
export function resolvePackageBin(name: string, binName: string, fromDir: string): string | undefined;
export function haveCommand(cmd: string): boolean;
export function planBuild(args: {
  env: Record<string, string | undefined>;
  force: boolean;
  prebuildLoads: boolean;
  haveCmake: boolean;
  haveNvcc: boolean;
}): BuildPlan;
