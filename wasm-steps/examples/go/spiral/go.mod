module shutter.example/wasm-steps/spiral

go 1.21
