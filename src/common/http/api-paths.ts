/** ArkID serves one route table under two mounts; every REST controller is declared on both. */
export const API_MOUNTS = ['siteapi/v1', 'siteapi/oneid'] as const;

export function apiPaths(path = ''): string[] {
  const suffix = path.replace(/^\/+|\/+$/g, '');
  return API_MOUNTS.map((mount) => (suffix ? `${mount}/${suffix}` : mount));
}
