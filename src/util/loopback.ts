const loopbackNames = new Set(['localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1']);

/** A host name or address that only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return loopbackNames.has(name) || name.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(name) || /^::ffff:127(\.\d{1,3}){3}$/.test(name);
}
