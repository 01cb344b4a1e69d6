import { readFileSync } from 'node:fs';

interface CpuProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const root = new URL('../../', import.meta.url).href;

/** Where a frame's code lives: an npm package, a source folder of ours, or a Node/V8 internal. */
function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : `native ${functionName}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith(root)) return url.slice(root.length).split('/').slice(0, 3).join('/');
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

/**
 * The profile's self time by area and by function, as short lines: where the wahub process's
 * main thread spent the measured phase (idle excluded from the shares, reported on its own).
 */
export function summarizeProfile(file: string, top = 12): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Samples taken while the profiler itself was starting (inspector calls) are not the app's.
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const profiler = new Map<number, boolean>();
  const inProfiler = (id: number): boolean => {
    const known = profiler.get(id);
    if (known !== undefined) return known;
    const parent = parentOf.get(id);
    const result = byId.get(id)!.callFrame.url === 'node:inspector' || (parent !== undefined && inProfiler(parent));
    profiler.set(id, result);
    return result;
  };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let idle = 0;
  let busy = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (inProfiler(id)) continue;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${url ? `${url.replace(root, '').replace(/.*node_modules\//, '')}:${lineNumber + 1}` : ''}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const share = (us: number) => `${((100 * us) / Math.max(1, busy)).toFixed(1)}%`;
  const list = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `${share(us)} ${k}`)
      .join('; ');
  return [
    `main thread busy ${((100 * busy) / Math.max(1, busy + idle)).toFixed(0)}% of the phase`,
    `self time by area: ${list(areas)}`,
    `self time by function: ${list(functions)}`,
  ];
}
