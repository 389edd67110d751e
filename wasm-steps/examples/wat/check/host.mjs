// shutter:step/host@0.1.0 for running the transpiled WAT fixtures in node.
// secret("token") gives $TOKEN when that variable is set (even to ""),
// none (undefined) otherwise. Every call is printed.
export function log(level, message) {
  console.log(`host.log(${JSON.stringify(level)}, ${JSON.stringify(message)})`);
}
export function progress(percent, message) {
  console.log(`host.progress(${percent}, ${JSON.stringify(message)})`);
}
export function secret(name) {
  const value = name === 'token' ? process.env.TOKEN : undefined;
  console.log(`host.secret(${JSON.stringify(name)}) -> ${value === undefined ? 'none' : JSON.stringify(value)}`);
  return value;
}
