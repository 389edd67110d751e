# python run_wasmtime.py COMPONENT.wat|COMPONENT.wasm [PARAMS] [TOKEN]
# Runs run(PARAMS) (default {"a":1}) under real wasmtime through its
# Python embedding (PyPI `wasmtime`, component API); secret("token") gives
# TOKEN when given (even ""), none otherwise. A .wat file goes through
# wasmtime's own text parser (the `wat` crate).
import sys
from wasmtime import Engine, Store, WasmtimeError, Trap
from wasmtime.component import Component, Linker, Record

path = sys.argv[1]
params = sys.argv[2] if len(sys.argv) > 2 else '{"a":1}'
token = sys.argv[3] if len(sys.argv) > 3 else None
engine = Engine()
if path.endswith(".wat"):
    # wasmtime's own text parser (the `wat` crate) turns the text into a binary
    component = Component(engine, open(path, encoding="utf-8").read())
else:
    component = Component.from_file(engine, path)
linker = Linker(engine)
with linker.root() as root:
    with root.add_instance("shutter:step/host@0.1.0") as host:
        host.add_func("log", lambda store, level, msg: print(f"host.log({level!r}, {msg!r})"))
        host.add_func("progress", lambda store, pct, msg: print(f"host.progress({pct}, {msg!r})"))
        def secret(store, name):
            value = token if name == "token" else None
            print(f"host.secret({name!r}) -> {'none' if value is None else repr(value)}")
            return value
        host.add_func("secret", secret)
store = Store(engine)
instance = linker.instantiate(store, component)
iface = instance.get_export_index(store, "shutter:step/step@0.1.0")
run = instance.get_func(store, instance.get_export_index(store, "run", iface))
try:
    out = run(store, params)
except (WasmtimeError, Trap) as e:
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    print("trap:", lines[-1])  # the first lines are a wasm backtrace
    sys.exit(0)
run.post_return(store)
if isinstance(out, Record):
    print("err:", vars(out))
else:
    print("ok:", out)
